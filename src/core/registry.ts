import { UsageError } from './errors.js';

/**
 * A name -> implementation table, so the CLI and configs name rules, attacks, schemes and models
 * by string. Unknown names fail with the list of known ones.
 */
export class Registry<T> {
  private readonly items = new Map<string, T>();

  constructor(private readonly kind: string) {}

  register(name: string, item: T): void {
    if (this.items.has(name)) throw new Error(`${this.kind} '${name}' registered twice`);
    this.items.set(name, item);
  }

  get(name: string): T {
    const item = this.items.get(name);
    if (item === undefined) {
      throw new UsageError(`unknown ${this.kind} '${name}' (known: ${this.names().join(', ')})`);
    }
    return item;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  names(): string[] {
    return [...this.items.keys()];
  }

  entries(): [string, T][] {
    return [...this.items.entries()];
  }
}
