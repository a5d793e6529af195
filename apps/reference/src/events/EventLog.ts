import { Effect, type FileSystem } from "effect"
import { ioError, type OutputError } from "../output/OutputError.js"

/** Which task, row group and row a model call is for: the ids that join request events to scheduler events. */
export interface TaskCorrelation {
  readonly taskId: string
  readonly rowGroup: number
  readonly row: number
}

const encoder = new TextEncoder()

/**
 * `events.jsonl` while a run with `run.events: true` goes on: each event is one JSON line carrying the run id, held
 * in memory until the next `flush` (a few times a second, and at the end). Disabled, `enabled` is false and call
 * sites build nothing: they check it before making an event.
 */
export class EventLog {
  private lines: Array<string> = []

  private constructor(
    readonly enabled: boolean,
    readonly runId: string,
    private readonly file: FileSystem.File | undefined,
    private readonly path: string
  ) {}

  static readonly disabled = new EventLog(false, "", undefined, "")

  static open(runId: string, file: FileSystem.File, path: string): EventLog {
    return new EventLog(true, runId, file, path)
  }

  /** Records one event (`_tag` first, then the run id, then its fields). */
  record(event: { readonly _tag: string } & Record<string, unknown>): void {
    if (!this.enabled) return
    const { _tag, ...fields } = event
    this.lines.push(JSON.stringify({ _tag, runId: this.runId, ...fields }))
  }

  /** Appends what was recorded since the last flush. */
  get flush(): Effect.Effect<void, OutputError> {
    return Effect.suspend(() => {
      if (this.file === undefined || this.lines.length === 0) return Effect.void
      const text = this.lines.join("\n") + "\n"
      this.lines = []
      return this.file.writeAll(encoder.encode(text)).pipe(Effect.mapError(ioError(this.path)))
    })
  }
}
