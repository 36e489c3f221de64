import { z } from './zod';

/** Data of one BullMQ job on the sms queue; the job id is `message_id`. */
export const smsJobDataSchema = z.object({
  message_id: z.uuid(),
  phone: z.string().regex(/^\+[1-9]\d{6,14}$/),
  text: z.string().min(1),
  request_id: z.string().optional(),
  /** Epoch ms when the gateway enqueued it. */
  enqueued_at: z.number().int(),
});
export type SmsJobData = z.infer<typeof smsJobDataSchema>;

/** What a provider is sent (DESIGN.md, the provider contract). */
export const providerSendBodySchema = z.object({
  phone: z.string(),
  text: z.string(),
  message_id: z.string(),
});
export type ProviderSendBody = z.infer<typeof providerSendBodySchema>;
