using System.Collections.Immutable;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Audit;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>
/// Transcription jobs: queued per caller and in total within limits, run in the background (<c>MaxRunning</c> at a
/// time) through <see cref="TranscriptPipeline"/>, watched live, cancellable, and kept in the store with their
/// transcripts. The call's audio waits in the data directory until its job ends, so a job the panel was running or
/// had queued when it stopped is run again when it comes back; one whose audio is gone is marked Interrupted.
/// </summary>
public sealed partial class TranscriptJobs : IHostedService, IDisposable
{
    public const string AudioFolder = "transcripts";

    /// <summary>Runs again after a restart before a job is given up (a call that kills the panel must not do it for ever).</summary>
    public const int MaxResumes = 3;

    private readonly TranscriptStore _store;
    private readonly Func<TranscriptPipeline> _pipeline;
    private readonly DataDirectory _data;
    private readonly IOptionsMonitor<TranscriptOptions> _options;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<TranscriptJobs> _logger;
    private readonly SnapshotStream<TranscriptBoard> _jobs;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private Task _pump = Task.CompletedTask;

    public TranscriptJobs(TranscriptStore store, Func<TranscriptPipeline> pipeline, DataDirectory data, IOptionsMonitor<TranscriptOptions> options, AuditLog audit, TimeProvider time, ILogger<TranscriptJobs> logger)
    {
        (_store, _pipeline, _data, _options, _audit, _time, _logger) = (store, pipeline, data, options, audit, time, logger);
        // The audio folder is made by the first upload: a read-only data directory must not stop the panel starting.
        var kept = store.Load().Select(Recover).ToImmutableArray();
        _jobs = new SnapshotStream<TranscriptBoard>(new TranscriptBoard(kept), time);
    }

    /// <summary>Starts running the queue (with the jobs a restart queued again) when the panel starts.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        SweepOrphans();
        _pump = Task.Run(PumpAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Uploads a crash left half-written, and calls no kept job owns: nothing will ever read them.</summary>
    private void SweepOrphans()
    {
        if (!Directory.Exists(AudioDirectory))
        {
            return;
        }

        var owned = _jobs.Current.Value.Jobs.Where(j => !j.IsFinished).Select(j => $"{j.Id}.wav").ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(AudioDirectory, "*", SearchOption.AllDirectories).Where(f => !owned.Contains(Path.GetFileName(f))))
        {
            TryDelete(file);
        }
    }

    private void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogAudioKept(Path.GetFileName(file), ex);
        }
    }

    /// <summary>Stops taking jobs; running ones stop where they are and stay Running in the store, to run again on the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pump.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown time is up (other services took it): the pump ends on its own, nothing is left to save.
        }
    }

    public string AudioDirectory => _data.Resolve(AudioFolder);

    public Versioned<TranscriptBoard> Board => _jobs.Current;

    public IAsyncEnumerable<Versioned<TranscriptBoard>> WatchAsync(CancellationToken cancellationToken) => _jobs.WatchAsync(cancellationToken);

    public TranscriptJob? Find(string id) => _jobs.Current.Value.Jobs.FirstOrDefault(j => j.Id == id);

    /// <summary>Refuses before an upload is read when <paramref name="owner"/> or everyone has as many jobs waiting as allowed.</summary>
    /// <exception cref="TranscriptBusyException">The caller's or the panel's queue is full.</exception>
    public void CheckRoom(string owner)
    {
        var options = _options.CurrentValue;
        var open = _jobs.Current.Value.Jobs.Where(j => !j.IsFinished).ToList();
        var mine = open.Count(j => j.Owner == owner);
        if (mine >= options.MaxQueuedPerCaller)
        {
            throw new TranscriptBusyException($"You have {mine} transcription job(s) queued or running, the most allowed (Transcripts:MaxQueuedPerCaller); wait for one to finish or cancel one.", RetryAfter(open.Count));
        }

        if (open.Count >= options.MaxQueued)
        {
            throw new TranscriptBusyException($"{open.Count} transcription jobs are queued or running, the most allowed (Transcripts:MaxQueued); try again later.", RetryAfter(open.Count));
        }
    }

    /// <summary>Takes an uploaded call (<paramref name="upload"/>, moved into the data directory) as a new queued job.</summary>
    public TranscriptJob Submit(string owner, string upload, TranscriptAudio audio, TranscriptSettings settings, AuditActor actor)
    {
        TranscriptJob job;
        lock (_gate)
        {
            CheckRoom(owner);
            job = new TranscriptJob(NewId(), owner, audio, settings, _time.GetUtcNow()) { Detail = "waiting for its turn" };
            File.Move(upload, AudioPath(job.Id));
            _jobs.Publish(board => new TranscriptBoard(board.Jobs.Insert(0, job)));
            // Saved before the pump or a cancel can move it on, so the store never goes back to Queued.
            Persist(job);
        }

        _audit.Record(actor, "transcript.start", job.Id, $"{audio.Channels} channel(s), {audio.DurationSeconds:0.#} s");
        _wake.Release();
        return job;
    }

    /// <summary>Cancels a queued or running job; false when it has ended already.</summary>
    public bool Cancel(string id, AuditActor actor)
    {
        lock (_gate)
        {
            if (Find(id) is not { IsFinished: false } job)
            {
                return false;
            }

            if (_running.TryGetValue(id, out var running))
            {
                running.Cancel();
            }
            else
            {
                Finish(id, j => j with { Status = TranscriptStatus.Cancelled, EndedAt = _time.GetUtcNow(), Detail = "cancelled before it started" });
            }
        }


        _audit.Record(actor, "transcript.cancel", id);
        return true;
    }

    /// <summary>Removes a finished job and its transcript.</summary>
    /// <exception cref="TranscriptConflictException">The job is still queued or running.</exception>
    public bool Delete(string id, AuditActor actor)
    {
        lock (_gate)
        {
            if (Find(id) is not { } job)
            {
                return false;
            }

            if (!job.IsFinished)
            {
                throw new TranscriptConflictException($"Job {id} is {job.Status.ToString().ToLowerInvariant()}; cancel it first.");
            }

            _jobs.Publish(board => new TranscriptBoard(board.Jobs.RemoveAll(j => j.Id == id)));
        }

        _store.Delete(id);
        _audit.Record(actor, "transcript.delete", id);
        return true;
    }

    /// <summary>Replaces a finished job's transcript (with its scrubbed version, when the original is not to be kept).</summary>
    /// <exception cref="TranscriptConflictException">The job is gone, has no transcript, or the store did not take the new one.</exception>
    public TranscriptJob ReplaceResult(string id, TranscriptResult result)
    {
        lock (_gate)
        {
            if (Find(id) is not { Status: TranscriptStatus.Done } found)
            {
                throw new TranscriptConflictException($"Job {id} has no transcript to replace (it was deleted, or has not finished).");
            }

            if (!Persist(found with { Result = result }))
            {
                throw new TranscriptConflictException($"The store did not take job {id}'s new transcript; the old one is kept. Check the data directory's disk and try again.");
            }

            return Update(id, j => j with { Result = result });
        }
    }

    private string AudioPath(string id) => Path.Combine(AudioDirectory, $"{id}.wav");

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static TimeSpan RetryAfter(int open) => TimeSpan.FromSeconds(Math.Clamp(open * 30, 30, 600));

    /// <summary>A job the panel stopped in the middle of: queued again when its audio is still there, else Interrupted.</summary>
    private TranscriptJob Recover(TranscriptJob job)
    {
        if (job.IsFinished)
        {
            return job;
        }

        var recovered = File.Exists(AudioPath(job.Id)) && job.Resumes < MaxResumes
            ? job with { Status = TranscriptStatus.Queued, Phase = TranscriptPhase.Upload, Progress = 0, Resumes = job.Resumes + (job.Status == TranscriptStatus.Running ? 1 : 0), Detail = "queued again after a panel restart" }
            : job with
            {
                Status = TranscriptStatus.Interrupted,
                EndedAt = _time.GetUtcNow(),
                Error = job.Resumes >= MaxResumes
                    ? $"The panel stopped {MaxResumes + 1} times while this job ran (it may be what stops it: a call too large for the memory here?); it is not run again."
                    : "The panel stopped while this job ran and its audio is gone; upload the call again.",
            };
        if (recovered.Status == TranscriptStatus.Interrupted)
        {
            TryDelete(AudioPath(job.Id));
        }

        Persist(recovered);
        return recovered;
    }

    private async Task PumpAsync()
    {
        var stop = _stopping.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                while (Next() is { } next)
                {
                    _ = Task.Run(() => RunAsync(next.Job, next.Cancel), CancellationToken.None);
                }

                await _wake.WaitAsync(stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down: running jobs stay Running in the store and are queued again on the next start.
        }
    }

    /// <summary>The oldest queued job, marked Running, when fewer than MaxRunning run.</summary>
    private (TranscriptJob Job, CancellationTokenSource Cancel)? Next()
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested || _running.Count >= _options.CurrentValue.MaxRunning
                || _jobs.Current.Value.Jobs.LastOrDefault(j => j.Status == TranscriptStatus.Queued) is not { } queued)
            {
                return null;
            }

            var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            _running[queued.Id] = cancel;
            var job = Update(queued.Id, j => j with { Status = TranscriptStatus.Running, StartedAt = _time.GetUtcNow(), Detail = "starting" });
            return (job, cancel);
        }
    }

    private async Task RunAsync(TranscriptJob job, CancellationTokenSource cancel)
    {
        Persist(job);
        var lastPhase = job.Phase;
        try
        {
            var result = await _pipeline().RunAsync(job, AudioPath(job.Id), (phase, progress, detail) =>
            {
                var updated = Update(job.Id, j => j with { Phase = phase, Progress = Math.Max(j.Progress, progress), Detail = detail ?? j.Detail });
                if (phase != lastPhase)
                {
                    lastPhase = phase;
                    Persist(updated);
                }
            }, cancel.Token).ConfigureAwait(false);
            Finish(job.Id, j => j with { Status = TranscriptStatus.Done, Phase = TranscriptPhase.Done, Progress = 1, Result = result, EndedAt = _time.GetUtcNow(), Detail = null });
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The panel is stopping: the job stays Running in the store, its audio stays, and the next start runs it again.
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Finish(job.Id, j => j with { Status = TranscriptStatus.Cancelled, EndedAt = _time.GetUtcNow(), Detail = $"cancelled during {j.Phase}" });
        }
        catch (Exception ex) when (ex is TranscriptionFailedException or TranscriptConflictException or WavFormatException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            LogFailed(job.Id, ex);
            Finish(job.Id, j => j with { Status = TranscriptStatus.Failed, EndedAt = _time.GetUtcNow(), Error = ex.Message });
        }
#pragma warning disable CA1031 // A job must end in a state, whatever broke: one left Running would hold its owner's queue place for ever.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogFailed(job.Id, ex);
            Finish(job.Id, j => j with { Status = TranscriptStatus.Failed, EndedAt = _time.GetUtcNow(), Error = $"The job stopped on an unexpected error ({ex.GetType().Name}: {ex.Message}); the panel's log has the details." });
        }
        finally
        {
            lock (_gate)
            {
                _running.Remove(job.Id);
            }

            cancel.Dispose();
            _wake.Release();
        }
    }

    /// <summary>
    /// Ends a job: kept in the store, its audio removed (the transcript is what is kept), and only then shown ended, so
    /// whoever sees it ended finds it saved and its audio gone.
    /// </summary>
    private void Finish(string id, Func<TranscriptJob, TranscriptJob> end)
    {
        var job = end(Find(id)!);
        var saved = Persist(job);
        if (saved || job.Status != TranscriptStatus.Done)
        {
            // Unless the store did not take the transcript: then the call stays, so a restart transcribes it again.
            TryDelete(AudioPath(job.Id));
        }

        Update(id, _ => job);
        var kept = _options.CurrentValue.Kept;
        _jobs.Publish(board => board.Jobs.Count(j => j.IsFinished) <= kept ? board
            : new TranscriptBoard([.. board.Jobs.Where(j => !j.IsFinished).Concat(board.Jobs.Where(j => j.IsFinished).Take(kept)).OrderByDescending(j => j.CreatedAt)]));
    }

    private bool Persist(TranscriptJob job)
    {
        if (_store.Save(job, _options.CurrentValue.Kept))
        {
            return true;
        }

        LogNotSaved(job.Id);
        return false;
    }

    /// <summary>Changes a job inside the stream's update, so progress from parallel chunks never undoes another change.</summary>
    private TranscriptJob Update(string id, Func<TranscriptJob, TranscriptJob> change)
    {
        var board = _jobs.Publish(b => new TranscriptBoard([.. b.Jobs.Select(j => j.Id == id ? change(j) : j)]));
        return board.Value.Jobs.First(j => j.Id == id);
    }

    public void Dispose()
    {
        // _stopping and _wake are not disposed: jobs still winding down may touch them after this returns.
        _stopping.Cancel();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transcription job {Id} failed")]
    private partial void LogFailed(string id, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The transcription audio {File} could not be removed")]
    private partial void LogAudioKept(string file, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transcription job {Id} could not be written to the store; it is kept in memory")]
    private partial void LogNotSaved(string id);
}
