import { JobCatalog } from '../job-catalog.js'
import type { ReportIngestor } from '../report.ingestor.js'
import { providerReportJob } from './provider-report.job.js'

/** Every background job type Switchboard runs. */
export function jobCatalog(reports: ReportIngestor): JobCatalog {
  return new JobCatalog([providerReportJob(reports.applyParked)])
}
