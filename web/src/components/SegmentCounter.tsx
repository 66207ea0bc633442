import { analyzeBody } from '../../../src/domain/messages/encoding'

/**
 * Live encoding and segment count of a body, by the same code the API counts with
 * (src/domain/messages/encoding.ts), so the counter and the sent message always agree.
 */
export function SegmentCounter({ body, id }: { body: string; id?: string }) {
  const a = analyzeBody(body)
  const perSegment =
    a.encoding === 'GSM-7' ? (a.segments > 1 ? 153 : 160) : a.segments > 1 ? 67 : 70
  return (
    <p className="counter" id={id} aria-live="polite" data-testid="segment-counter">
      {a.characters} characters · {a.encoding} · {a.segments} segment{a.segments === 1 ? '' : 's'}
      <span className="muted"> ({perSegment} per segment)</span>
    </p>
  )
}
