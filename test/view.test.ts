import { describe, expect, it } from 'vitest';
import type { Candidate } from '../src/inference/detector.js';
import { closestMcpPair, handNotGraded, UPRIGHT_TILT_RAD, keepPaHands, layoutResidual, MAX_PA_RESIDUAL, MCP_NAMED_TWICE, mcpNamedTwice, paPose, PARTIAL_VIEW, recognisedHand, STRAY_JOINTS, thumbAlongHand, thumbAsBigToe, BIG_TOE, thumbNotFound, thumbOnFilm, THUMB_IN_VIEW, thumbPlace, withoutStrays } from '../src/inference/view.js';
import { DEFAULT_CALIBRATION } from '../src/inference/manifest.js';
import { renderPhantom } from '../src/phantom/render.js';

/**
 * A hand's joints lie as in a PA view, or the hand is not graded: an oblique or lateral
 * view overlaps the joints and narrows the spaces it shows.
 */
/** the whole film the phantom hands lie on */
const FILM = { rows: 1280, columns: 1024, pixelSpacingMm: [0.2, 0.2] as [number, number] };

function hand(seed: number, laterality: 'L' | 'R'): Candidate[] {
  const r = renderPhantom({ seed, rows: 1280, columns: 1024, pixelSpacingMm: 0.2, layout: 'one', profile: 'mixed', laterality });
  return r.hands[0].joints.map((j) => ({ laterality, site: j.site, x: j.x, y: j.y, confidence: 0.9 }));
}

/**
 * A phantom hand's wrist-only film: cut 12 mm distal of the CMC row, 60 mm of forearm below the
 * radiocarpal joint; the joints on it, in its frame.
 */
function wristOnly(joints: Candidate[]) {
  const mm = 1 / FILM.pixelSpacingMm[0];
  const cmcY = Math.min(...joints.filter((j) => /^CMC/.test(j.site)).map((j) => j.y));
  const rcY = joints.find((j) => j.site === 'RC')!.y;
  const top = cmcY - 12 * mm;
  const film = { ...FILM, rows: Math.round(rcY + 60 * mm - top) };
  return { film, top, rcY, mm, joints: joints.filter((j) => j.y >= top + 2 && j.y < top + film.rows).map((j) => ({ ...j, y: j.y - top })) };
}

describe('PA view check', () => {
  it('keeps phantom hands of either side, turned and scaled', () => {
    for (const [seed, side] of [[11, 'L'], [12, 'R'], [13, 'L'], [14, 'R']] as const) {
      const joints = hand(seed, side);
      expect(layoutResidual(joints, side)!, `seed ${seed}`).toBeLessThan(MAX_PA_RESIDUAL / 2);
      // turned 90 degrees and shown at half size: the layout is the same
      const turned = joints.map((j) => ({ ...j, x: 900 - j.y / 2, y: j.x / 2 }));
      expect(Math.abs(layoutResidual(turned, side)! - layoutResidual(joints, side)!)).toBeLessThan(1e-9);
      expect(keepPaHands(joints, FILM).notGraded).toEqual([]);
      // the residual of a hand kept is recorded (the SR says the view was found PA, and how well)
      expect(keepPaHands(joints, FILM).paResiduals[side]).toBeCloseTo(layoutResidual(joints, side)!, 12);
      expect(keepPaHands(joints, FILM, false).paResiduals).toEqual({});
    }
  });

  it('does not grade a hand whose joints lie as in a lateral view, saying why; too few joints are not judged', () => {
    const joints = hand(15, 'L');
    const lateral = joints.map((j) => ({ ...j, x: 500 + (j.x - 500) * 0.15 + (j.site.startsWith('DIP') ? 60 : 0) }));
    const check = keepPaHands(lateral, FILM);
    expect(check.candidates).toEqual([]);
    expect(check.notGraded).toEqual([{ laterality: 'L', cause: 'view', reason: expect.stringMatching(/do not lie as in a PA view \(layout residual 0\.\d\d > 0\.3\)/) }]);
    expect(layoutResidual(lateral.slice(0, 7), 'L')).toBeUndefined();
    // a site that grades every view still gets a PA layout check skipped, nothing else
    expect(keepPaHands(lateral, FILM, false).notGraded).toEqual([]);
  });

  it('does not grade a hand with two MCPs found on one place (overlapping heads, as on an oblique), but grades joints of a finger drawn together', () => {
    for (const [seed, side] of [[21, 'L'], [22, 'R']] as const) {
      const joints = hand(seed, side);
      const at = (site: string) => joints.find((j) => j.site === site)!;
      // MCP3 found on MCP2's head, as the detector names one overlapped head twice
      const oblique = joints.map((j) => (j.site === 'MCP3' ? { ...j, x: at('MCP2').x + 2, y: at('MCP2').y + 3 } : j));
      expect(layoutResidual(oblique, side)!, `seed ${seed}`).toBeLessThan(MAX_PA_RESIDUAL);
      expect(mcpNamedTwice(oblique, side)!.sites.sort()).toEqual(['MCP2', 'MCP3']);
      const check = keepPaHands(oblique, FILM);
      expect(check.candidates).toEqual([]);
      expect(check.notGraded).toEqual([{ laterality: side, cause: 'view', reason: expect.stringMatching(/^two MCP joints found on one place \(MCP2 and MCP3 at 0\.0\d of their distance in a PA hand/) }]);
      // a finger flexed towards the film brings its DIP onto its PIP: no sign of another view
      const flexed = joints.map((j) => (j.site === 'DIP4' ? { ...j, x: at('PIP4').x + 2, y: at('PIP4').y + 3 } : j));
      expect(keepPaHands(flexed, FILM).notGraded).toEqual([]);
      // MCPs closer than usual but apart (fingers squeezed together) are a PA hand's
      const squeezed = joints.map((j) => (j.site === 'MCP3' ? { ...j, x: (2 * j.x + at('MCP2').x) / 3, y: (2 * j.y + at('MCP2').y) / 3 } : j));
      expect(mcpNamedTwice(squeezed, side), `seed ${seed}`).toBeUndefined();
      expect(closestMcpPair(squeezed, side)!.share, `seed ${seed}`).toBeGreaterThan(2 * MCP_NAMED_TWICE.shareOfLayout);
    }
  });

  it('grades the hand of a film with two views of it: the sites the detector placed on the other view are dropped, not the hand', () => {
    const joints = hand(17, 'L');
    const span = Math.hypot(joints.find((j) => j.site === 'MCP2')!.x - joints.find((j) => j.site === 'MCP5')!.x, joints.find((j) => j.site === 'MCP2')!.y - joints.find((j) => j.site === 'MCP5')!.y);
    // four sites found on a second view three hand-widths to the side
    const elsewhere = new Set(['DIP3', 'MCP1', 'MCP4', 'CMC1']);
    const twoViews = joints.map((j) => (elsewhere.has(j.site) ? { ...j, x: j.x + 3 * span } : j));
    const wide = { ...FILM, columns: 4000 };
    expect(withoutStrays(twoViews, 'L').strays.map((j) => j.site).sort()).toEqual([...elsewhere].sort());
    const check = keepPaHands(twoViews, wide);
    expect(check.notGraded).toEqual([]);
    expect(check.candidates.map((c) => c.site).sort()).toEqual(joints.filter((j) => !elsewhere.has(j.site)).map((j) => j.site).sort());
    // a joint off its place by less than STRAY_JOINTS.spans stays (a view's own deviation is the layout check's to judge)
    const near = joints.map((j) => (j.site === 'DIP3' ? { ...j, x: j.x + (STRAY_JOINTS.spans - 0.5) * span } : j));
    expect(withoutStrays(near, 'L').strays).toEqual([]);
  });

  it('calls joints in no PA layout and without a thumb joint no hand at all (an elbow\'s screws), not a hand in another view', () => {
    const joints = hand(15, 'L');
    const lateral = joints.map((j) => ({ ...j, x: 500 + (j.x - 500) * 0.15 + (j.site.startsWith('DIP') ? 60 : 0) }));
    const noThumb = lateral.filter((j) => j.site !== 'MCP1' && j.site !== 'IP1');
    expect(keepPaHands(noThumb, FILM).notGraded).toEqual([
      { laterality: 'L', cause: 'unrecognised', reason: expect.stringMatching(/^19 joint-like structures without a thumb joint \(MCP1, IP1\) whose layout is no hand's \(layout residual 0\.\d\d > 0\.3\)/) },
    ]);
    // one thumb joint found keeps it a hand, in a view that is not graded
    expect(keepPaHands([...noThumb, lateral.find((j) => j.site === 'IP1')!], FILM).notGraded[0].cause).toBe('view');
  });

  it('does not name the joints of structures too few or too unsure to be a hand (a wrist-like cluster on a whole film, an elbow)', () => {
    const joints = hand(16, 'R');
    // the wrist, the thumb base and MCP1 only, on a film where the fingers would be in view: 8 sites
    const wrist = joints.filter((j) => /^(CMC|STT|CSL|RC)/.test(j.site) || j.site === 'MCP1');
    const check = keepPaHands(wrist, FILM);
    expect(check.candidates).toEqual([]);
    expect(check.notGraded).toEqual([{ laterality: 'R', cause: 'unrecognised', reason: expect.stringMatching(/^8 joint-like structures at a mean detector confidence of 0\.90/) }]);
    // every site, but none of them sure: as the detector answers on a lateral forearm
    const unsure = joints.map((j) => ({ ...j, confidence: j.site.startsWith('MCP') ? 0.8 : 0.45 }));
    expect(keepPaHands(unsure, FILM).notGraded[0].cause).toBe('unrecognised');
    expect(keepPaHands(unsure, FILM, false).notGraded[0].cause).toBe('unrecognised');
    // at the bounds a hand is graded
    const c = DEFAULT_CALIBRATION;
    const atBounds = joints.slice(0, c.handMinJoints).map((j) => ({ ...j, confidence: c.handMinMeanConfidence + 1e-9 }));
    expect(handNotGraded(atBounds, layoutResidual(atBounds, 'R'))).toBeUndefined();
    expect(handNotGraded(atBounds.slice(1), layoutResidual(atBounds.slice(1), 'R'))?.cause).toBe('unrecognised');
    // a detector calibrated otherwise (a site's own model) brings its own bounds
    expect(handNotGraded(atBounds.slice(1), layoutResidual(atBounds.slice(1), 'R'), recognisedHand({ ...c, handMinJoints: 6 }))).toBeUndefined();
  });

  it('does not take five rays without a thumb for a hand where the thumb would be on the film (a foot); a thumb off the film is no reason', () => {
    for (const [seed, side] of [[41, 'L'], [42, 'R']] as const) {
      const joints = hand(seed, side);
      const rays = joints.filter((j) => j.site !== 'MCP1' && j.site !== 'IP1');
      const check = keepPaHands(rays, FILM);
      expect(check.candidates, `seed ${seed}`).toEqual([]);
      expect(check.notGraded).toEqual([{ laterality: side, cause: 'unrecognised', reason: expect.stringMatching(/^19 joint-like structures lying as in a hand, but no thumb joint \(MCP1, IP1\)/) }]);
      // one thumb joint found is a thumb
      expect(keepPaHands([...rays, joints.find((j) => j.site === 'IP1')!], FILM).notGraded).toEqual([]);
      // a film cut short on the thumb's side (a left hand's thumb lies on the image's right): its thumb is out of view
      const thumbX = joints.filter((j) => j.site === 'MCP1' || j.site === 'IP1').map((j) => j.x);
      const cut = side === 'L' ? { ...FILM, columns: Math.floor(Math.min(...thumbX)) - 2 } : undefined;
      if (cut) {
        const inView = rays.filter((j) => j.x < cut.columns);
        expect(inView.length).toBeGreaterThanOrEqual(14);
        expect(thumbNotFound(inView, side, cut)).toBeUndefined();
        // the fitted MCP1 lies a little inside the cut (0.06 spans, the layout's error), under THUMB_IN_VIEW's bound
        expect(thumbPlace(inView, side, cut)!.mcp1).toBeGreaterThan(0);
        expect(thumbPlace(inView, side, cut)!.mcp1).toBeLessThan(THUMB_IN_VIEW.mcp1InsideSpans);
        expect(thumbNotFound(inView, side, FILM)).toMatch(/no thumb joint/);
        // cut between the thumb's MCP and its IP (the MCP well inside, THUMB_IN_VIEW): its base is in view, so a thumb would be found
        const [mcp1, ip1] = ['MCP1', 'IP1'].map((site) => joints.find((j) => j.site === site)!);
        const span = Math.hypot(joints.find((j) => j.site === 'MCP2')!.x - joints.find((j) => j.site === 'MCP5')!.x, joints.find((j) => j.site === 'MCP2')!.y - joints.find((j) => j.site === 'MCP5')!.y);
        const between = { ...FILM, columns: Math.floor(mcp1.x + (THUMB_IN_VIEW.mcp1InsideSpans + 0.3) * span) };
        expect(ip1.x, 'the IP lies beyond the cut').toBeGreaterThan(between.columns);
        expect(thumbNotFound(rays.filter((j) => j.x < between.columns), side, between)).toMatch(/no thumb joint/);
      }
    }
  });

  it('does not take a thumb lying where a big toe lies for a hand\'s (a foot: its first MTP in the MTP row, the hallux beyond)', () => {
    for (const [seed, side] of [[43, 'L'], [44, 'R']] as const) {
      const joints = hand(seed, side);
      const at = (site: string) => joints.find((j) => j.site === site)!;
      // a hand's own thumb lies well short of the MCP row, its IP at most a phalanx beyond
      const own = thumbAlongHand(joints, side)!;
      expect(own.MCP1!, `seed ${seed}`).toBeLessThan(BIG_TOE.mcp1Along - 0.1);
      expect(own.IP1!).toBeLessThan(BIG_TOE.ip1Along);
      expect(keepPaHands(joints, FILM).notGraded).toEqual([]);
      // a big toe: one ray beyond the second, level with its MCP and PIP (across the hand's axis, RC to MCP3)
      const len = Math.hypot(at('MCP3').x - at('RC').x, at('MCP3').y - at('RC').y);
      const u = { x: (at('MCP3').x - at('RC').x) / len, y: (at('MCP3').y - at('RC').y) / len };
      const ray = (a: string, b: string) => {
        const d = { x: at(a).x - at(b).x, y: at(a).y - at(b).y };
        const along = d.x * u.x + d.y * u.y;
        return { x: at(a).x + d.x - along * u.x, y: at(a).y + d.y - along * u.y };
      };
      const toe = joints.map((j) => (j.site === 'MCP1' ? { ...j, ...ray('MCP2', 'MCP3') } : j.site === 'IP1' ? { ...j, ...ray('PIP2', 'PIP3') } : j));
      expect(thumbAlongHand(toe, side)!.MCP1!).toBeGreaterThan(BIG_TOE.mcp1Along);
      const check = keepPaHands(toe, FILM);
      expect(check.candidates).toEqual([]);
      expect(check.notGraded).toEqual([{ laterality: side, cause: 'unrecognised', reason: expect.stringMatching(/^21 joint-like structures lying as in a hand, but the joint named MCP1 lies where a big toe's does \(MCP1 -?\d\.\d\d spans from the MCP row/) }]);
      // a site that grades every view judges no layout, so no thumb's place along it either
      expect(keepPaHands(toe, FILM, false).notGraded).toEqual([]);
      // the hallux's IP alone, beyond the bound, says the same
      const ipOnly = toe.filter((j) => j.site !== 'MCP1');
      expect(thumbAsBigToe(ipOnly, side)).toMatch(/the joint named IP1 lies where a big toe's does/);
      // too few other joints to fit the layout: not judged
      expect(thumbAlongHand(toe.filter((j) => /^(MCP|IP)/.test(j.site)), side)).toBeUndefined();
    }
  });

  it('judges a hand found on a panel of the film for its thumb on the whole film: a panel that cuts the thumb side off passes no foot', () => {
    const joints = hand(41, 'L');
    const rays = joints.filter((j) => j.site !== 'MCP1' && j.site !== 'IP1');
    const thumbX = joints.filter((j) => j.site === 'MCP1' || j.site === 'IP1').map((j) => j.x);
    const panel = { ...FILM, columns: Math.floor(Math.min(...thumbX)) - 2 };
    const inPanel = rays.filter((j) => j.x < panel.columns);
    // on the panel alone the five rays pass (the thumb would be off it) ...
    const onPanel = keepPaHands(inPanel, panel);
    expect(onPanel.candidates.length).toBe(inPanel.length);
    // ... on the whole film they are five rays without a thumb where a thumb would be
    const onFilm = thumbOnFilm(onPanel, FILM);
    expect(onFilm.candidates).toEqual([]);
    expect(onFilm.paResiduals).toEqual({});
    expect(onFilm.notGraded).toEqual([{ laterality: 'L', cause: 'unrecognised', reason: expect.stringMatching(/no thumb joint \(MCP1, IP1\) where a hand's thumb would be on the film/) }]);
    // a hand with its thumb, and a partial view, keep the panel's judgement
    expect(thumbOnFilm(keepPaHands(joints, FILM), FILM).candidates).toHaveLength(joints.length);
    const partial = { ...onPanel, partial: { L: { inView: [], outOfView: [] } as never } };
    expect(thumbOnFilm(partial, FILM).candidates).toHaveLength(inPanel.length);
  });

  it("measures a hand's tilt from upright, for either side: turning it turns the tilt by as much", () => {
    for (const [seed, side] of [[31, 'L'], [32, 'R']] as const) {
      const joints = hand(seed, side);
      const upright = paPose(joints, side)!.tilt;
      expect(Math.abs(upright)).toBeLessThan(Math.PI / 4);
      for (const deg of [25, -40, 70]) {
        // turn the joints by deg about the film's centre (image axes: +x towards +y)
        const a = (deg * Math.PI) / 180;
        const turnedBy = joints.map((j) => ({ ...j, x: 512 + Math.cos(a) * (j.x - 512) - Math.sin(a) * (j.y - 640), y: 640 + Math.sin(a) * (j.x - 512) + Math.cos(a) * (j.y - 640) }));
        // the turn that makes it upright again undoes the one applied
        expect(paPose(turnedBy, side)!.tilt, `seed ${seed}, ${deg} degrees`).toBeCloseTo(upright - a, 6);
      }
    }
  });

  it('measures how far a hand lies from upright, not from the layout frame an upright hand fits turned', () => {
    // the phantom draws one hand within 30 degrees of upright: its tilt from upright stays
    // within that, centred on 0, while the layout's own tilt sits about 25 degrees to one side
    const deg = (r: number) => (r * 180) / Math.PI;
    for (const side of ['L', 'R'] as const) {
      const fromUpright = Array.from({ length: 12 }, (_, i) => paPose(hand(600 + i, side), side)!.tilt);
      // the layout fit's own tilt, UPRIGHT_TILT_RAD to one side
      const raw = fromUpright.map((t) => t + (side === 'R' ? -UPRIGHT_TILT_RAD : UPRIGHT_TILT_RAD));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(Math.abs(deg(mean(fromUpright))), side).toBeLessThan(10);
      for (const t of fromUpright) expect(Math.abs(deg(t)), side).toBeLessThan(35);
      expect(Math.abs(deg(mean(raw))), side).toBeGreaterThan(deg(UPRIGHT_TILT_RAD) - 10);
    }
  });

  it('grades a partial PA view: a wrist-only or finger-only film whose missing joints would lie off the film', () => {
    for (const [seed, side] of [[21, 'L'], [22, 'R']] as const) {
      const joints = hand(seed, side);
      const { film: wristFilm, joints: inWrist, top, rcY, mm } = wristOnly(joints);
      const check = keepPaHands(inWrist, wristFilm);
      expect(check.notGraded, `seed ${seed}`).toEqual([]);
      expect(check.candidates.length).toBe(inWrist.length);
      expect(check.partial[side]!.notInView).toEqual(expect.arrayContaining(['DIP2', 'DIP5', 'PIP3', 'IP1']));
      expect(check.partial[side]!.residual).toBeLessThan(PARTIAL_VIEW.maxResidual);
      // the same wrist at the edge of a forearm film (25 cm of film beyond it): not a wrist view
      const forearm = keepPaHands(inWrist, { ...wristFilm, rows: Math.round(rcY - top + 250 * mm) });
      expect(forearm.candidates).toEqual([]);
      expect(forearm.notGraded).toEqual([{ laterality: side, cause: 'unrecognised', reason: expect.stringMatching(/^a forearm film, the wrist at its edge/) }]);
      // the same joints on the whole film: the fingers would be in view, yet were not found
      expect(keepPaHands(inWrist.map((j) => ({ ...j, y: j.y + top })), FILM).notGraded[0].cause).toBe('unrecognised');
      // a finger-only film of the index and middle fingers (6 joints)
      const two = joints.filter((j) => /^(DIP|PIP|MCP)[23]$/.test(j.site));
      const xs = two.map((j) => j.x);
      const ys = two.map((j) => j.y);
      const [left, right] = [Math.min(...xs) - 8 * mm, Math.max(...xs) + 8 * mm];
      const [up, down] = [Math.min(...ys) - 20 * mm, Math.max(...ys) + 10 * mm];
      const fingerFilm = { ...FILM, rows: Math.round(down - up), columns: Math.round(right - left) };
      const fingers = keepPaHands(two.map((j) => ({ ...j, x: j.x - left, y: j.y - up })), fingerFilm);
      expect(fingers.notGraded, `seed ${seed}`).toEqual([]);
      expect(fingers.partial[side]!.notInView).toEqual(expect.arrayContaining(['RC', 'DIP5', 'MCP5']));
    }
  });

  it("leaves one stray name out of a partial-view detector's wrist, and only then: the whole-hand detector's reading stays as it is", () => {
    for (const [seed, side] of [[24, 'L'], [25, 'R']] as const) {
      const { film: wristFilm, joints: inWrist, mm } = wristOnly(hand(seed, side));
      // a DIP2 named on the metacarpal shafts, 4 mm above the CMC row: an error no PA hand can
      // hold, yet within withoutStrays' two spans of its place
      const cmc3 = inWrist.find((j) => j.site === 'CMC3')!;
      const stray = { laterality: side, site: 'DIP2' as const, x: cmc3.x, y: cmc3.y - 4 * mm, confidence: 0.9 };
      const withStray = [...inWrist, stray];
      expect(withoutStrays(withStray, side).kept).toContain(stray);
      expect(layoutResidual(withStray.slice(), side)!).toBeGreaterThan(PARTIAL_VIEW.maxResidual);
      const read = keepPaHands(withStray, wristFilm, true, recognisedHand(), true);
      expect(read.notGraded, `seed ${seed}`).toEqual([]);
      expect(read.candidates).not.toContain(stray);
      expect(read.candidates.length).toBe(inWrist.length);
      expect(read.partial[side]!.dropped).toBe(stray);
      expect(read.partial[side]!.notInView).toEqual(expect.arrayContaining(['DIP2', 'DIP5']));
      // the same joints as the whole-hand detector's reading: not a partial view
      expect(keepPaHands(withStray, wristFilm).notGraded[0]?.cause).toBe('unrecognised');
      // a partial view that fits without dropping keeps every joint
      expect(keepPaHands(inWrist, wristFilm, true, recognisedHand(), true).partial[side]!.dropped).toBeUndefined();
    }
  });

  it('does not take a cluster that fits no hand, or unsure joints, for a partial view', () => {
    const joints = hand(23, 'L');
    const wristSites = joints.filter((j) => /^(CMC|STT|CSL|RC)/.test(j.site));
    // scrambled: the names of the wrist sites on points that do not lie as in a hand
    const scrambled = wristSites.map((j, i) => ({ ...j, x: wristSites[(i * 3) % wristSites.length].x + (i % 2 ? 90 : -90), y: wristSites[(i * 5) % wristSites.length].y }));
    expect(keepPaHands(scrambled, { ...FILM, rows: 300 }).notGraded[0]?.cause).toBe('unrecognised');
    const unsure = wristSites.map((j) => ({ ...j, y: j.y - Math.min(...wristSites.map((w) => w.y)) + 40, confidence: 0.5 }));
    expect(keepPaHands(unsure, { ...FILM, rows: 400 }).notGraded[0]?.cause).toBe('unrecognised');
    // a detector whose manifest sets its own partial-view bound (calibration.partialMinMeanConfidence) is held to that
    const own = recognisedHand({ ...DEFAULT_CALIBRATION, partialMinMeanConfidence: 0.45 });
    expect(own.partialMinMeanConfidence).toBe(0.45);
    expect(recognisedHand().partialMinMeanConfidence).toBe(PARTIAL_VIEW.minMeanConfidence);
    const kept = keepPaHands(unsure, { ...FILM, rows: 400 }, true, own);
    expect(kept.notGraded).toEqual([]);
    expect(kept.partial.L?.notInView.length).toBeGreaterThan(0);
  });

  it('does not take for a partial view a reading whose ray leaves the view and comes back (a forearm film\'s elbow named DIP3)', () => {
    // the joints the partial-view detector named on the exposed field (424 x 147 pixels, no
    // spacing in the picture) of a real upper-limb forearm film: the carpus at one end, DIP3 on
    // the elbow at the other; fitted as a hand, MCP3 and PIP3 fall off the field's long edges,
    // yet the field is convex: a finger in view at both ends is in view between them
    const at = (site: Candidate['site'], x: number, y: number): Candidate => ({ laterality: 'R', site, x, y, confidence: 0.66 });
    const read = [at('DIP3', 407, 38), at('CMC4', 102, 79), at('CMC5', 92, 86), at('STT', 97, 47), at('CSL', 84, 68), at('RC', 64, 61)];
    const field = { rows: 147, columns: 424, pixelSpacingMm: [0.15, 0.15] as [number, number] };
    const check = keepPaHands(read, field, true, recognisedHand(), true);
    expect(check.partial).toEqual({});
    expect(check.notGraded[0]?.cause).toBe('unrecognised');
    // without the far DIP3, no ray is flanked, and the carpus alone is too few joints: the same answer
    expect(keepPaHands(read.slice(1), field, true, recognisedHand(), true).notGraded[0]?.cause).toBe('unrecognised');
  });
});
