/** `resnet8`: the Fixup ResNet of depth 8 (one basic block per stage); see resnet.ts. */
import { resnetDef } from './resnet.js';

export const resnet8 = resnetDef(8);
