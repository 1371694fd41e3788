/** `resnet20`: the Fixup ResNet of depth 20 (three basic blocks per stage); see resnet.ts. */
import { resnetDef } from './resnet.js';

export const resnet20 = resnetDef(20);
