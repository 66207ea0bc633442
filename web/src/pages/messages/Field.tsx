import { useId, type ReactNode } from 'react'

/**
 * A labelled control: the <label> stands beside the control (for/id), not around it, so the
 * control's name is the label's words alone, whatever it holds.
 */
export function Field(props: {
  label: string
  hint?: ReactNode
  className?: string
  children: (id: string, hintId: string | undefined) => ReactNode
}) {
  const id = useId()
  const hintId = props.hint ? `${id}-hint` : undefined
  return (
    <div className={`field ${props.className ?? ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint ? (
        <span id={hintId} className="muted hint">
          {props.hint}
        </span>
      ) : null}
    </div>
  )
}
