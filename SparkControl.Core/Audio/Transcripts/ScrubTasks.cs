using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Scrub;
using SparkControl.Core.Audit;

namespace SparkControl.Core.Audio.Transcripts;

public enum ScrubStatus
{
    Queued,
    Running,
    Done,
    Failed,
}

/// <summary>
/// One redaction task: of a text, of a transcript sent with the request, or of a finished job's transcript
/// (<see cref="Job"/>). When done it holds the redacted text or transcript and a count by kind; the input is not kept.
/// </summary>
public sealed record ScrubTask(string Id, string Owner, DateTimeOffset CreatedAt, string? Job)
{
    public ScrubStatus Status { get; init; } = ScrubStatus.Queued;

    public string? Text { get; init; }

    public LabelMergeResult? Transcript { get; init; }

    /// <summary>Whether the transcript was a call (words and utterances carry their channel).</summary>
    public bool IsCall { get; init; }

    public ImmutableSortedDictionary<string, int> Counts { get; init; } = ImmutableSortedDictionary<string, int>.Empty;

    /// <summary>For a job's transcript: whether the job kept its original (else its transcript was replaced).</summary>
    public bool KeptOriginal { get; init; }

    public string? Error { get; init; }

    /// <summary>A task is its owner's; an admin sees every one.</summary>
    public bool IsVisibleTo(string actor, bool admin) => admin || string.Equals(Owner, actor, StringComparison.Ordinal);
}

/// <summary>
/// PII redaction as background tasks (<c>/api/scrub</c>): each task gets an unguessable id, runs off the request, and
/// is kept in memory for <see cref="Kept"/> tasks or an hour, whichever is less; only its owner (or an admin) reads it.
/// A job's transcript scrubbed without keeping the original replaces the job's transcript in the store.
/// </summary>
public sealed class ScrubTasks(ScrubNames names, TranscriptJobs jobs, AuditLog audit, TimeProvider time)
{
    public const int Kept = 500;

    /// <summary>Tasks waiting or running at once; past that a caller is told to come back (429).</summary>
    public const int MostWaiting = 32;

    public static readonly TimeSpan KeptFor = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, ScrubTask> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ScrubTask>> _ended = new(StringComparer.Ordinal);

    // Scrubbing is CPU work off the request: two at a time leave the panel its other core.
    private readonly SemaphoreSlim _running = new(2, 2);

    public ScrubTask? Find(string id) => _tasks.TryGetValue(id, out var task) ? task : null;

    /// <summary>The task once it has ended (for the page, which shows the result as soon as there is one).</summary>
    public Task<ScrubTask> EndedAsync(string id, CancellationToken cancellationToken) =>
        _ended.TryGetValue(id, out var ended) ? ended.Task.WaitAsync(cancellationToken)
            : Find(id) is { } task ? Task.FromResult(task) : Task.FromException<ScrubTask>(new KeyNotFoundException("No such scrub task."));

    public ScrubTask StartText(string owner, string text, AuditActor actor) =>
        Start(owner, null, actor, "text", scrubber => { var result = scrubber.Scrub(text); return (t => t with { Text = result.Text }, result.Counts); });

    public ScrubTask StartTranscript(string owner, LabelMergeResult transcript, bool isCall, AuditActor actor) =>
        Start(owner, null, actor, "transcript", scrubber => { var result = scrubber.Scrub(transcript); return (t => t with { Transcript = result.Transcript, IsCall = isCall }, result.Counts); });

    /// <summary>Scrubs a finished job's transcript; without <paramref name="keepOriginal"/> the job's transcript is replaced by it.</summary>
    /// <exception cref="TranscriptConflictException">The job has no transcript yet.</exception>
    public ScrubTask StartJob(TranscriptJob job, string owner, bool keepOriginal, AuditActor actor)
    {
        if (job is not { Status: TranscriptStatus.Done, Result: { } original })
        {
            throw new TranscriptConflictException($"Job {job.Id} has no transcript to scrub yet ({job.Status.ToString().ToLowerInvariant()}).");
        }

        return Start(owner, job.Id, actor, keepOriginal ? "job, original kept" : "job, original replaced", scrubber =>
        {
            // The echo report quotes words as recognised, and the referee's reasons are the model's own text: neither may
            // keep what the transcript no longer holds.
            var result = scrubber.Scrub(original.Transcript);
            result = result with { Transcript = result.Transcript with { Echo = null } };
            if (!keepOriginal)
            {
                var referee = original.Referee is { } report
                    ? report with { Decisions = [.. report.Decisions.Select(d => d with { Reason = scrubber.Scrub(d.Reason).Text })] }
                    : null;
                jobs.ReplaceResult(job.Id, original with { Transcript = result.Transcript, Referee = referee, Scrubbed = true });
            }

            return (t => t with { Transcript = result.Transcript, IsCall = job.IsCall, KeptOriginal = keepOriginal }, result.Counts);
        });
    }

    private ScrubTask Start(string owner, string? job, AuditActor actor, string what, Func<PiiScrubber, (Func<ScrubTask, ScrubTask> Result, IReadOnlyDictionary<PiiKind, int> Counts)> scrub)
    {
        Trim();
        if (_tasks.Values.Count(t => t.Status is ScrubStatus.Queued or ScrubStatus.Running) >= MostWaiting)
        {
            throw new TranscriptBusyException($"{MostWaiting} scrub tasks are waiting or running already; try again shortly.", TimeSpan.FromSeconds(5));
        }

        var task = new ScrubTask(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), owner, time.GetUtcNow(), job);
        _tasks[task.Id] = task;
        var ended = _ended[task.Id] = new TaskCompletionSource<ScrubTask>(TaskCreationOptions.RunContinuationsAsynchronously);
        audit.Record(actor, "scrub.start", job ?? task.Id, what);
        _ = Task.Run(async () =>
        {
            await _running.WaitAsync().ConfigureAwait(false);
            _tasks[task.Id] = task with { Status = ScrubStatus.Running };
            try
            {
                var scrubber = new PiiScrubber(await names.GetAsync(CancellationToken.None).ConfigureAwait(false));
                var (result, counts) = scrub(scrubber);
                _tasks[task.Id] = result(task) with
                {
                    Status = ScrubStatus.Done,
                    Counts = counts.ToImmutableSortedDictionary(c => PiiKinds.Key(c.Key), c => c.Value, StringComparer.Ordinal),
                };
            }
#pragma warning disable CA1031 // A task ends in a state whatever broke, or its page and its API callers wait for ever.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _tasks[task.Id] = task with { Status = ScrubStatus.Failed, Error = ex is TranscriptConflictException ? ex.Message : $"The scrub failed ({ex.GetType().Name})." };
            }
            finally
            {
                _running.Release();
                _ended.TryRemove(task.Id, out _);
                ended.TrySetResult(_tasks.GetValueOrDefault(task.Id) ?? task with { Status = ScrubStatus.Failed, Error = "expired" });
            }
        });
        return task;
    }

    /// <summary>Drops tasks older than <see cref="KeptFor"/>, then the oldest past <see cref="Kept"/>.</summary>
    private void Trim()
    {
        var now = time.GetUtcNow();
        foreach (var expired in _tasks.Values.Where(t => now - t.CreatedAt > KeptFor && t.Status is ScrubStatus.Done or ScrubStatus.Failed))
        {
            _tasks.TryRemove(expired.Id, out _);
        }

        var over = _tasks.Count - Kept + 1;
        foreach (var old in _tasks.Values.Where(t => t.Status is ScrubStatus.Done or ScrubStatus.Failed).OrderBy(t => t.CreatedAt).Take(Math.Max(0, over)))
        {
            _tasks.TryRemove(old.Id, out _);
        }
    }
}
