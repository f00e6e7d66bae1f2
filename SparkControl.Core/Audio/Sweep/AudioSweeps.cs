using System.Collections.Immutable;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Audit;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Streams;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Audio.Sweep;

public enum SweepStatus
{
    Running,
    Done,
    Failed,
    Cancelled,

    /// <summary>The panel stopped while the sweep ran.</summary>
    Interrupted,
}

/// <summary>One concurrency sweep against one worker, with its figures as they come.</summary>
public sealed record SweepRun(long Id, string Spark, string Service, string Model, SweepSettings Settings, ImmutableArray<string> Files, DateTimeOffset StartedAt, string StartedBy)
{
    public SweepStatus Status { get; init; } = SweepStatus.Running;
    public DateTimeOffset? EndedAt { get; init; }
    public ImmutableArray<SweepStep> Steps { get; init; } = [];
    public int? Knee { get; init; }
    public string? StopReason { get; init; }
    public string? Error { get; init; }
    public SweepProgress? Progress { get; init; }
    public DateTimeOffset? AppliedAt { get; init; }

    /// <summary>Requests the gateway sent the worker while the sweep ran: they compete with it and lower its figures.</summary>
    public long GatewayRequestsDuring { get; init; }

    public string Key => $"{Spark}/{Service}";

    /// <summary>The share of the sweep done, for a progress bar: finished steps plus the current step's share, of the most steps.</summary>
    public double Fraction => Status != SweepStatus.Running ? 1
        : Math.Clamp((Steps.Length + (Progress is { Of: > 0 } p ? (double)p.Done / p.Of : 0)) / Settings.MaxConcurrency, 0, 1);
}

/// <summary>Every sweep kept, newest first.</summary>
public sealed record SweepBoard(ImmutableArray<SweepRun> Runs)
{
    public SweepRun? Running => Runs.FirstOrDefault(r => r.Status == SweepStatus.Running);
}

/// <summary>A sweep cannot start or its result cannot be written; the message says why.</summary>
public sealed class SweepConflictException(string message) : InvalidOperationException(message);

/// <summary>
/// Concurrency sweeps: one at a time (a quiet window is the point), against a transcription worker the gateway knows,
/// kept in the store with their figures; the measured knee can be written to the worker's <c>maxInFlight</c> (and
/// <c>measuredKnee</c>, which lifts the hand-set ceiling) in services.yaml.
/// </summary>
public sealed partial class AudioSweeps : IDisposable
{
    private readonly AudioRoutes _routes;
    private readonly AudioCapacity _capacity;
    private readonly SweepStore _store;
    private readonly ServiceSettingsStore _services;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<AudioSweeps> _logger;
    private readonly HttpMessageInvoker _http;
    private readonly SnapshotStream<SweepBoard> _runs;
    private readonly object _gate = new();
    private CancellationTokenSource? _running;
    private long _nextId;

    public AudioSweeps(AudioRoutes routes, AudioCapacity capacity, SweepStore store, ServiceSettingsStore services, AuditLog audit, TimeProvider time, ILogger<AudioSweeps> logger)
    {
        (_routes, _capacity, _store, _services, _audit, _time, _logger) = (routes, capacity, store, services, audit, time, logger);
        _http = WorkerHttp.CreateInvoker();
        var kept = store.LoadAndMarkInterrupted();
        _nextId = kept.Select(r => r.Id).DefaultIfEmpty(0).Max();
        _runs = new SnapshotStream<SweepBoard>(new SweepBoard([.. kept.OrderByDescending(r => r.Id)]), time);
    }

    /// <summary>The test speech shipped with the panel: what a sweep sends when the operator gives no files.</summary>
    public static SweepFile ShippedSpeech()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("sweep-speech.wav") ?? throw new InvalidOperationException("The panel is missing its sweep speech.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new SweepFile("sweep-speech.wav", copy.ToArray());
    }

    /// <summary>Every run kept, newest first.</summary>
    public Versioned<SweepBoard> Board => _runs.Current;

    public IAsyncEnumerable<Versioned<SweepBoard>> WatchAsync(CancellationToken cancellationToken) => _runs.WatchAsync(cancellationToken);

    public SweepRun? Find(long id) => _runs.Current.Value.Runs.FirstOrDefault(r => r.Id == id);

    /// <summary>The transcription workers a sweep can measure.</summary>
    public IEnumerable<AudioWorker> Workers() => _routes.Workers().Where(w => w.Role == AudioRole.Transcription);

    /// <summary>Starts a sweep of <paramref name="spark"/>/<paramref name="service"/> in the background.</summary>
    /// <exception cref="ValidationFailedException">The settings or files are not valid.</exception>
    /// <exception cref="KeyNotFoundException">No transcription worker has that name.</exception>
    /// <exception cref="SweepConflictException">Another sweep runs, or the worker is not Healthy.</exception>
    public SweepRun Start(string spark, string service, SweepSettings settings, IReadOnlyList<SweepFile>? files, AuditActor actor)
    {
        if (settings.Validate() is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        var worker = Workers().FirstOrDefault(w => string.Equals(w.Spark, spark, StringComparison.OrdinalIgnoreCase) && string.Equals(w.Service, service, StringComparison.OrdinalIgnoreCase))
            ?? throw new KeyNotFoundException($"No transcription worker '{Validators.Printable(service)}' on '{Validators.Printable(spark)}' (a service with models: and a kind other than tts).");
        if (!worker.Healthy)
        {
            throw new SweepConflictException($"{worker.Key} is not Healthy now; a sweep of it would measure its failure.");
        }

        var sent = files is { Count: > 0 } ? files : [ShippedSpeech()];
        SweepRun run;
        CancellationTokenSource cancel;
        lock (_gate)
        {
            if (_runs.Current.Value.Running is { } busy)
            {
                throw new SweepConflictException($"A sweep of {busy.Key} is running; one at a time keeps the window quiet. Cancel it or wait for it.");
            }

            run = new SweepRun(++_nextId, worker.Spark, worker.Service, worker.Models[0].Name, settings, [.. sent.Select(f => f.Name)], _time.GetUtcNow(), actor.Name);
            _running = cancel = new CancellationTokenSource();
            Publish(run);
        }

        _store.Save(run);
        _audit.Record(actor, "audio.sweep.start", run.Key, $"up to concurrency {settings.MaxConcurrency}, {sent.Count} file(s)");
        _ = Task.Run(() => RunAsync(run, worker, sent, cancel));
        return run;
    }

    public bool Cancel(long id, AuditActor actor)
    {
        lock (_gate)
        {
            if (Find(id) is not { Status: SweepStatus.Running } || _running is null)
            {
                return false;
            }

            _running.Cancel();
        }

        _audit.Record(actor, "audio.sweep.cancel", Find(id)!.Key);
        return true;
    }

    /// <summary>Whether the run's worker is in services.yaml, where its cap can be written.</summary>
    public bool CanApply(SweepRun run) => _services.Find(run.Key) is not null;

    /// <summary>Writes the run's knee to the worker's maxInFlight and measuredKnee in services.yaml.</summary>
    public async Task<SweepRun> ApplyAsync(long id, AuditActor actor, CancellationToken cancellationToken)
    {
        var run = Find(id) ?? throw new KeyNotFoundException($"No sweep {id}.");
        if (run is not { Status: SweepStatus.Done, Knee: { } knee })
        {
            throw new SweepConflictException($"Sweep {id} has no knee to write (it is {run.Status}{(run.StopReason is null ? string.Empty : $": {run.StopReason}")}).");
        }

        var definition = _services.Find(run.Key)
            ?? throw new SweepConflictException($"{run.Key} is not in services.yaml (the demo's built-in services are not written); set its maxInFlight where it is defined.");
        await _services.UpdateAsync(run.Key, definition with { MaxInFlight = knee, MeasuredKnee = knee }, cancellationToken).ConfigureAwait(false);
        _audit.Record(actor, "audio.sweep.apply", run.Key, $"maxInFlight {definition.EffectiveMaxInFlight} -> {knee} (sweep {id})");
        Update(id, r => r with { AppliedAt = _time.GetUtcNow() });
        var applied = Find(id)!;
        _store.Save(applied);
        return applied;
    }

    private async Task RunAsync(SweepRun run, AudioWorker worker, IReadOnlyList<SweepFile> files, CancellationTokenSource cancel)
    {
        var servedBefore = GatewayServed(run.Key);
        try
        {
            var runner = new SweepRunner(_http, _time);
            var (steps, reason) = await runner.RunAsync(worker.Endpoint, run.Model, files, run.Settings,
                step => Update(run.Id, r => r with { Steps = r.Steps.Add(step) }),
                progress => Update(run.Id, r => r with { Progress = progress }),
                cancel.Token).ConfigureAwait(false);
            Update(run.Id, r => r with { Status = SweepStatus.Done, Steps = steps, Knee = SweepRunner.KneeOf(steps), StopReason = reason });
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Update(run.Id, r => r with { Status = SweepStatus.Cancelled, StopReason = "cancelled by the operator" });
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            LogFailed(run.Key, ex);
            Update(run.Id, r => r with { Status = SweepStatus.Failed, Error = ex.Message });
        }
        finally
        {
            cancel.Dispose();
        }

        lock (_gate)
        {
            _running = null;
            Update(run.Id, r => r with { EndedAt = _time.GetUtcNow(), Progress = null, GatewayRequestsDuring = GatewayServed(r.Key) - servedBefore });
        }

        _store.Save(Find(run.Id)!);
    }

    private long GatewayServed(string key) => _capacity.Now().ByWorker.GetValueOrDefault(key) is { } load ? load.Served + load.InFlight : 0;

    private void Publish(SweepRun run) => _runs.Publish(board => new SweepBoard([.. board.Runs.Where(r => r.Id != run.Id).Append(run).OrderByDescending(r => r.Id)]));

    /// <summary>Changes a run inside the stream's update, so changes from the sweep's parallel requests never undo each other.</summary>
    private void Update(long id, Func<SweepRun, SweepRun> change) =>
        _runs.Publish(board => new SweepBoard([.. board.Runs.Select(r => r.Id == id ? change(r) : r)]));

    public void Dispose()
    {
        lock (_gate)
        {
            _running?.Cancel();
        }

        _http.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The concurrency sweep of {Worker} failed")]
    private partial void LogFailed(string worker, Exception exception);
}
