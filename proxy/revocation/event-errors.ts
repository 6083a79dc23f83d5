/** Why an event read from the stream was skipped; each is a label value of the events metric. */
export type EventRejection =
  | 'untrusted_key'
  | 'lift_not_allowed'
  | 'invalid_signature'
  | 'malformed'
  | 'unknown_event_type'
  | 'invalid_subject';

export class EventRejectedError extends Error {
  constructor(
    readonly reason: EventRejection,
    detail: string,
  ) {
    super(detail);
    this.name = 'EventRejectedError';
  }
}
