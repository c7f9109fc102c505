import type { JointSite } from '../analysis/joints.js';
import { MU, type Ellipsoid, type HandModel } from './anatomy.js';
import type { Rng } from './rng.js';

/**
 * Metal on a hand film: a Kirschner wire (1.2-1.8 mm steel) across a joint, along the finger
 * with a little slant, as a fixed fracture or a fused joint shows it. The node must not grade a
 * joint with metal beside it (src/inference/metal.ts); the wires give it films to prove that on.
 */

/** the joints wires are put across (fingers and the thumb's IP and MCP, where K-wires go) */
const WIRED: readonly JointSite[] = ['DIP2', 'DIP3', 'DIP4', 'DIP5', 'PIP2', 'PIP3', 'PIP4', 'PIP5', 'IP1', 'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5'];

/** steel attenuates some 40 times as much as cortical bone at hand-film energies */
const MU_STEEL = MU.cortex * 40;

/** Two joints of the hand, each with a wire along its axis through its centre. */
export function wiresAcross(model: HandModel, r: Rng): { sites: JointSite[]; wires: Ellipsoid[] } {
  const pool = WIRED.filter((s) => model.joints.has(s));
  const sites: JointSite[] = [];
  while (sites.length < 2 && sites.length < pool.length) {
    const s = r.pick(pool);
    if (!sites.includes(s)) sites.push(s);
  }
  const wires = sites.map((s): Ellipsoid => {
    const j = model.joints.get(s)!;
    const radius = r.uniform(0.6, 0.9);
    // the b axis points along [sin(ang), cos(ang)] of the hand frame: the joint's axis, slanted
    const ang = (Math.atan2(j.axis[0], j.axis[1]) * 180) / Math.PI + r.uniform(-15, 15);
    return { c: j.c, a: radius, b: r.uniform(9, 14), depth: radius, ang, shell: 0, muOuter: MU_STEEL, muInner: MU_STEEL };
  });
  return { sites, wires };
}
