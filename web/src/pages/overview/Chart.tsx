import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { TableWrap } from './TableWrap'

export interface ChartSeries {
  label: string
  values: (number | null)[]
  color: string
  /** How a value reads in the table and the tooltip legend. */
  format?: (v: number | null) => string
}

const plain = (v: number | null) => (v === null ? '—' : v.toLocaleString())

/**
 * A uPlot line chart that follows its container's width (390 px phones included), with its
 * figures as a table for screen readers: the canvas is hidden from them, the caption names it.
 */
export function Chart({
  title,
  times,
  series,
  timeLabel,
  ratio = false,
}: {
  title: string
  /** The figures are fractions: the axis runs 0 to 100 %. */
  ratio?: boolean
  /** Bucket starts, epoch seconds. */
  times: number[]
  series: ChartSeries[]
  timeLabel: (t: number) => string
}) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const width = () => Math.max(200, Math.floor(el.clientWidth))
    const plot = new uPlot(
      {
        width: width(),
        height: 200,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          ...(ratio ? { y: { range: [0, 1] as [number, number] } } : {}),
        },
        axes: [
          { stroke: '#57606a' },
          {
            stroke: '#57606a',
            size: 56,
            ...(ratio
              ? {
                  values: (_u: uPlot, ticks: number[]) =>
                    ticks.map((v) => `${Math.round(v * 100)} %`),
                }
              : {}),
          },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            // Sparse figures (a rate known in a few hours only) show as points joined across gaps.
            points: { show: times.length < 40 || s.values.filter((v) => v !== null).length < 40 },
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => (s.format ?? plain)(v),
          })),
        ],
      },
      [times, ...series.map((s) => s.values)],
      el,
    )
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 200 }))
    observer.observe(el)
    return () => {
      observer.disconnect()
      plot.destroy()
    }
  }, [times, series, ratio])

  return (
    <figure className="chart panel">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      <details className="chart-data">
        <summary>Figures of “{title}” as a table</summary>
        <TableWrap label={`Figures of ${title}`}>
          <table>
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                {series.map((s) => (
                  <th key={s.label} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t, i) => (
                <tr key={t}>
                  <th scope="row">{timeLabel(t)}</th>
                  {series.map((s) => (
                    <td key={s.label}>{(s.format ?? plain)(s.values[i] ?? null)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </details>
    </figure>
  )
}
