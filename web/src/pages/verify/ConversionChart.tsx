import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface DayFigures {
  /** Local midnight, epoch ms. */
  day: number
  started: number
  approved: number
}

const pct = (approved: number, started: number) =>
  started === 0 ? '—' : `${Math.round((approved / started) * 1000) / 10} %`

const dayLabel = (ms: number) =>
  new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })

/**
 * Verifications started and approved per day (uPlot), with the same figures as a table: the
 * chart's text alternative.
 */
export function ConversionChart({ days }: { days: DayFigures[] }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const data: uPlot.AlignedData = [
      days.map((d) => d.day / 1000),
      days.map((d) => d.started),
      days.map((d) => d.approved),
    ]
    const width = () => Math.max(280, el.clientWidth)
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        legend: { show: false },
        cursor: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          { values: (_u, ticks) => ticks.map((t) => dayLabel(t * 1000)) },
          { label: 'Verifications' },
        ],
        series: [
          {},
          { label: 'Started', stroke: '#1f4f8f', width: 2, points: { show: true } },
          { label: 'Approved', stroke: '#1a7f37', width: 2, dash: [6, 4], points: { show: true } },
        ],
      },
      data,
      el,
    )
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [days])

  return (
    <figure className="verify-chart">
      <div
        ref={box}
        role="img"
        aria-label="Verifications started and approved per day; the table below has the figures."
        data-testid="conversion-chart"
      />
      <figcaption className="verify-legend">
        <span className="key key-started">Started</span>{' '}
        <span className="key key-approved">Approved</span>
      </figcaption>
      <div className="table-wrap">
        <table>
          <caption className="muted">Conversion per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Started</th>
              <th scope="col">Approved</th>
              <th scope="col">Conversion</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.day}>
                <td>{dayLabel(d.day)}</td>
                <td>{d.started}</td>
                <td>{d.approved}</td>
                <td>{pct(d.approved, d.started)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  )
}
