/**
 * updates/<stream>.json: Cincinnati graph hints of FCOS (barriers, dead ends, rollouts),
 * as edited by `rollout.py` in coreos/fedora-coreos-streams. Key order follows that script.
 */
import { z } from "zod";
import { freeText, releaseVersion, rfc3339, streamName } from "./common.ts";

const reason = z.looseObject({ reason: freeText });

export const rolloutSchema = z.looseObject({
  duration_minutes: z.number().int({ error: "a whole number of minutes" }).nonnegative().optional(),
  start_epoch: z.number().int({ error: "a Unix time in whole seconds" }).nonnegative().optional(),
  start_percentage: z
    .number()
    .min(0, { error: "a fraction from 0.0 to 1.0" })
    .max(1, { error: "a fraction from 0.0 to 1.0" }),
});

export const updatesRelease = z.looseObject({
  version: releaseVersion,
  metadata: z.looseObject({
    barrier: reason.optional(),
    deadend: reason.optional(),
    rollout: rolloutSchema.optional(),
  }),
});

export const updatesSchema = z.looseObject({
  stream: streamName,
  metadata: z.looseObject({ "last-modified": rfc3339 }),
  releases: z.array(updatesRelease),
});

export type Updates = z.infer<typeof updatesSchema>;
export type UpdatesRelease = z.infer<typeof updatesRelease>;
