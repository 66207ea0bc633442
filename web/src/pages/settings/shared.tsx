import { useEffect, useId, useRef, useState, type ReactNode } from 'react'

/**
 * A modal confirmation: a real <dialog> (focus moves into it, Escape cancels), named by its
 * heading. Mounted only while a confirmation is pending.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  busy,
  onConfirm,
  onCancel,
}: {
  title: string
  children?: ReactNode
  confirmLabel: string
  busy?: boolean
  onConfirm: () => void
  onCancel: () => void
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  useEffect(() => {
    const d = ref.current
    if (d && !d.open) d.showModal()
    return () => d?.close()
  }, [])
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault()
        onCancel()
      }}
    >
      <h3 id={titleId}>{title}</h3>
      {children}
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={onConfirm}>
          {confirmLabel}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  )
}

/**
 * A secret the API answered this once (a new API key, a generated password, a rotated
 * webhook secret): shown with a copy button and the warning that it will not be shown again.
 * It lives only in the page's state, so a reload forgets it.
 */
export function ShownOnce({
  label,
  value,
  children,
  onDone,
}: {
  label: string
  value: string
  children?: ReactNode
  onDone: () => void
}) {
  const [copied, setCopied] = useState('')
  function copy() {
    const clip = typeof navigator !== 'undefined' ? navigator.clipboard : undefined
    if (!clip) {
      setCopied('Copying is not available here: select the text and copy it.')
      return
    }
    clip.writeText(value).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying failed: select the text and copy it.'),
    )
  }
  return (
    <section className="panel shown-once" aria-label={label}>
      <p>
        <strong>{label}</strong>
      </p>
      <p className="warning">Copy it now: it will not be shown again.</p>
      {children}
      <code className="secret" data-testid="shown-once">
        {value}
      </code>
      <div className="row">
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
        <span role="status" className="muted">
          {copied}
        </span>
      </div>
    </section>
  )
}
