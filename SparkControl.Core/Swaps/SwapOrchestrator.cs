using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Catalog;
using SparkControl.Core.Collections;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Streams;
using SparkControl.Core.Launch;
using SparkControl.Core.Remote;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Swaps;

/// <summary>A request to serve <see cref="ModelId"/> on <see cref="Target"/> (a Spark, or "cluster"); no model unloads.</summary>
public sealed record SwapRequest(string? ModelId, string Target, string Requester)
{
    /// <summary>Where the request came from, for the audit log.</summary>
    public string? RequesterAddress { get; init; }

    /// <summary>Co-resident services to stop so the model fits.</summary>
    public ValueArray<string> StopServices { get; init; } = [];
}

/// <summary>Another swap holds the Spark: the request is refused, naming it.</summary>
public sealed class SwapConflictException(SwapStatus running) : InvalidOperationException(Describe(running))
{
    public SwapStatus Running { get; } = running;

    /// <summary>What holds the Sparks, as the confirm dialog and a refused start both say it.</summary>
    public static string Describe(SwapStatus swap)
    {
        var sparks = string.Join(" and ", swap.Sparks);
        var what = swap.ModelId is { } model ? $"{model} is swapping on {sparks}" : $"{sparks} {(swap.Sparks.Count > 1 ? "are" : "is")} unloading";
        return $"{what} (swap {swap.Id}, {swap.Phase}); wait for it to end, or cancel it on the Dashboard.";
    }
}

/// <summary>What a swap would do, for the confirm dialog: the command, the memory budget, a download, warnings.</summary>
public sealed record SwapPreview(string? ModelId, string Target, ValueArray<string> Sparks, string? PreviousModelId, string? CommandLine)
{
    public ValueArray<MemoryBudget> Budgets { get; init; } = [];
    public bool NeedsDownload { get; init; }
    public long? DownloadBytes { get; init; }
    /// <summary>Why the swap would fail in Preflight, or be refused now: while there is one, it cannot start.</summary>
    public ValueArray<string> Blockers { get; init; } = [];

    /// <summary>What the operator should know but does not stop the swap.</summary>
    public ValueArray<string> Warnings { get; init; } = [];

    /// <summary>Services on the Sparks that could be stopped to make room.</summary>
    public ValueArray<string> Services { get; init; } = [];

    /// <summary>The swap that held the Sparks when the preview was made (it is the first blocker).</summary>
    public string? RunningSwapId { get; init; }

    public bool Fits => Budgets.All(b => b.Fits);

    public bool CanStart => Blockers.Count == 0;
}

/// <summary>
/// Swaps the model a Spark serves, one swap at a time per Spark (both Sparks for a cluster model), through the
/// phases of <see cref="SwapPhase"/>; publishes every change as a <see cref="SwapBoard"/> snapshot, keeps the
/// history, and on start recovers what an earlier run of the panel left in flight.
/// </summary>
public sealed partial class SwapOrchestrator : IHostedService, IAsyncDisposable
{
    private readonly SwapContext _context;
    private readonly SnapshotStream<SwapBoard> _stream;
    private readonly ConcurrentDictionary<string, SwapRun> _runs = new();

    /// <summary>Each running swap's registration as work on its Sparks (their settings are not changed under it).</summary>
    private readonly ConcurrentDictionary<string, IDisposable> _working = new();
    private readonly SparkWork _work;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ILogger<SwapOrchestrator> _logger;
    private readonly Audit.AuditLog? _audit;
    private Task _reconciled = Task.CompletedTask;

    public SwapOrchestrator(
        SparkFleet fleet,
        ModelCatalog catalog,
        LaunchPlanner planner,
        HealthMonitor health,
        SwapHistory history,
        IDrainGate drain,
        SparkControlMetrics metrics,
        HttpClient http,
        TimeProvider time,
        IOptionsMonitor<SparkControlOptions> options,
        ILogger<SwapOrchestrator> logger,
        SparkWork? work = null,
        Audit.AuditLog? audit = null)
    {
        _logger = logger;
        _audit = audit;
        _work = work ?? new SparkWork();
        _stream = new SnapshotStream<SwapBoard>(SwapBoard.Empty, time);
        _context = new SwapContext(fleet, catalog, planner, health, history, drain, metrics, http, time, options, logger, PublishFromRun, OnEnded);
    }

    public SwapBoard Board => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<SwapBoard>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    /// <summary>A swap on the board (running or the latest of its Spark) or in the history.</summary>
    public SwapStatus? Find(string id) => Board.Find(id) ?? _context.History.Find(id);

    /// <summary>Starts a swap, or joins the running one when it has the same target; another swap on the Sparks is a conflict.</summary>
    public SwapStatus Start(SwapRequest request) => Start(request, rollbackOf: null, verifyOnly: false);

    /// <summary>Stops the swap; a container it already started is removed. False when it is not running.</summary>
    public bool Cancel(string id, Audit.AuditActor actor)
    {
        // A run stays registered for a moment after its end is published: by then there is nothing to cancel.
        if (!_runs.TryGetValue(id, out var run) || Board.Find(id) is not { IsActive: true })
        {
            return false;
        }

        LogCancel(actor.Name, id);
        _audit?.Record(actor, "swap.cancel", string.Join(",", Board.Find(id)?.Sparks ?? []), $"swap {id}");
        run.Cancel(actor.Name);
        return true;
    }

    /// <summary>Completes when the startup reconcile has run.</summary>
    public Task Reconciled => _reconciled;

    /// <summary>Waits for a swap to end (tests, the API's synchronous callers).</summary>
    public async Task<SwapStatus> WaitAsync(string id, CancellationToken cancellationToken)
    {
        await foreach (var board in WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            if (board.Value.Find(id) is { IsActive: false } ended)
            {
                return ended;
            }
        }

        throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>What a swap would do, without doing it: the checks of Preflight, for the confirm dialog.</summary>
    public async Task<SwapPreview> PreviewAsync(SwapRequest request, CancellationToken cancellationToken)
    {
        var (model, entries) = Resolve(request);
        return await SwapPreflight.PreviewAsync(_context, request, model, entries, Holding(entries.Select(e => e.Name)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The running swap that holds any of <paramref name="sparks"/>: a new swap on them is refused (or joins it).</summary>
    public SwapStatus? Holding(IEnumerable<string> sparks)
    {
        var board = Board;
        return sparks.Select(s => board.BySpark.GetValueOrDefault(s)).FirstOrDefault(s => s is { IsActive: true });
    }

    private SwapStatus Start(SwapRequest request, string? rollbackOf, bool verifyOnly)
    {
        var (model, entries) = Resolve(request);
        var sparks = entries.Select(e => e.Name).ToArray();
        lock (_gate)
        {
            if (Holding(sparks) is { } busy)
            {
                if (string.Equals(busy.Target, request.Target, StringComparison.OrdinalIgnoreCase) && busy.ModelId == model?.Id && !verifyOnly)
                {
                    return busy;
                }

                throw new SwapConflictException(busy);
            }

            var id = NewId();
            var working = _work.Begin(sparks, model is null ? $"the unload {id}" : $"the swap {id} to {model.Id}");
            var now = _context.Time.GetUtcNow();
            var status = new SwapStatus
            {
                Id = id,
                Target = request.Target,
                Sparks = [.. sparks],
                ModelId = model?.Id,
                ServedName = model?.ServedName,
                Requester = request.Requester,
                Phase = SwapPhase.Requested,
                RequestedAt = now,
                Phases = [new PhaseTiming(SwapPhase.Requested, now, null)],
                StopServices = request.StopServices,
                RollbackOf = rollbackOf,
                Message = verifyOnly ? "re-verifying what runs after a restart" : model is null ? "unload requested" : $"swap to {model.Id} requested",
            };
            var run = new SwapRun(_context, status, model, [.. entries], verifyOnly, _shutdown.Token);
            _runs[status.Id] = run;
            _working[status.Id] = working;
            Publish(status);
            _context.History.Save(status);
            if (rollbackOf is null && !verifyOnly)
            {
                _audit?.Record(new Audit.AuditActor(request.Requester, request.RequesterAddress), model is null ? "swap.unload" : "swap.start", string.Join(",", sparks), model is null ? $"swap {id}" : $"swap {id} to {model.Id}");
            }

            run.Start();
            return status;
        }
    }

    private (ModelDefinition? Model, IReadOnlyList<SparkEntry> Entries) Resolve(SwapRequest request)
    {
        var fleet = _context.Fleet.Current;
        var model = request.ModelId is null
            ? null
            : _context.Catalog.Current.Find(request.ModelId) ?? throw new KeyNotFoundException($"No model '{Validators.Printable(request.ModelId)}' is in the catalog.");
        if (string.Equals(request.Target, SwapTargets.Cluster, StringComparison.OrdinalIgnoreCase))
        {
            if (model is { Placement: not ModelPlacement.Cluster })
            {
                throw new ValidationFailedException([new FieldError("spark", $"{model.Id} runs on one Spark: name the Spark, not \"cluster\"")]);
            }

            var head = fleet.Sparks.FirstOrDefault(s => s.Definition.LaunchCluster is { Nodes.Count: > 1 })
                ?? throw new ValidationFailedException([new FieldError("spark", "no Spark has launchCluster settings with two nodes; set them on the head Spark in Settings")]);
            return (model, [head, .. fleet.Sparks.Where(s => s != head)]);
        }

        if (model is { Placement: ModelPlacement.Cluster })
        {
            throw new ValidationFailedException([new FieldError("spark", $"{model.Id} spans both Sparks: its target is \"cluster\"")]);
        }

        var entry = fleet.Find(request.Target) ?? throw new KeyNotFoundException($"No Spark is named '{Validators.Printable(request.Target)}'.");
        if (model?.Source is LocalSource local && !string.Equals(local.Spark, entry.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException([new FieldError("spark", $"{model.Id} is a directory on {local.Spark}; it can only run there")]);
        }

        // A cluster model on this Spark occupies the other one too: the swap that replaces it holds both. Either answer
        // may say so: the fleet view's (a cluster swap that just ended leads until health has looked again) or health's
        // last check (after a cluster swap failed, the view knows nothing runs, but a worker may still be up).
        // One snapshot of health for both answers: a check landing between two reads would make them disagree.
        var health = _context.Health.Current.Value;
        var serving = FleetView.Of(health, Board, _context.Catalog.Current, fleet).Find(entry.Name)?.Model;
        var checkedServing = health.Find(entry.Name)?.Model;
        var cluster = entry.Definition.LaunchCluster is { } settings
            && (serving?.Container == settings.ContainerName || checkedServing?.Container == settings.ContainerName);
        return (model, cluster ? [entry, .. fleet.Sparks.Where(s => s != entry)] : [entry]);
    }

    private void Publish(SwapStatus status) => _stream.Publish(board => board.With(status));

    /// <summary>
    /// A run's own change. Once it has ended a new swap may take its Sparks at any moment, and what the run still adds
    /// to its record (loading steps read after Ready) must not put it back over the new one.
    /// </summary>
    private void PublishFromRun(SwapStatus status) => _stream.Publish(board => status.IsActive ? board.With(status) : board.Amend(status));

    private void OnEnded(SwapRun run, SwapStatus ended, bool rollback)
    {
        _runs.TryRemove(ended.Id, out _);
        if (_working.TryRemove(ended.Id, out var working))
        {
            working.Dispose();
        }

        if (!rollback || ended.PreviousModelId is null || _shutdown.IsCancellationRequested)
        {
            return;
        }

        try
        {
            var back = Start(new SwapRequest(ended.PreviousModelId, ended.Target, "rollback"), ended.Id, verifyOnly: false);
            var linked = ended with { RolledBackBy = back.Id };
            _context.History.Save(linked);
            _stream.Publish(board => board.Amend(linked));
            LogRollback(ended.Id, back.Id, ended.PreviousModelId);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or ValidationFailedException or SwapConflictException)
        {
            LogRollbackFailed(ended.Id, ex.Message);
        }
    }

    /// <summary>
    /// After a restart: swaps the history still shows running become Interrupted, and where a model container runs
    /// on their Sparks, a new swap follows it to Ready (or to its failure).
    /// </summary>
    public Task ReconcileAsync(CancellationToken cancellationToken) => ReconcileAsync(_context.History.Unfinished(), cancellationToken);

    private async Task ReconcileAsync(IReadOnlyList<SwapStatus> unfinishedSwaps, CancellationToken cancellationToken)
    {
        foreach (var unfinished in unfinishedSwaps.Where(s => !_runs.ContainsKey(s.Id)))
        {
            // It ends when the panel last saw it, not now: the time the panel was down is no part of the swap.
            var seen = LastSeen(unfinished);
            var interrupted = unfinished with
            {
                Phase = SwapPhase.Interrupted,
                EndedAt = seen,
                Message = $"interrupted: the panel stopped during {unfinished.Phase}",
                Phases = [.. unfinished.Phases.Select(p => p.EndedAt is null ? p with { EndedAt = seen } : p), new PhaseTiming(SwapPhase.Interrupted, seen, seen)],
            };
            _context.History.Save(interrupted);
            Publish(interrupted);
            _context.Metrics.RecordSwap(SwapPhase.Interrupted.ToString(), unfinished.ModelId);
            LogInterrupted(unfinished.Id, unfinished.Phase);
            var serving = new List<bool?>();
            foreach (var spark in unfinished.Sparks)
            {
                serving.Add(await ReverifyAsync(spark, unfinished.Target, cancellationToken).ConfigureAwait(false));
            }

            // Stopped between the old model and the new one: say that nothing serves, and offer the old one back.
            if (!interrupted.IsUnload && serving.All(s => s == false))
            {
                var previous = interrupted.PreviousModelId is { } id && _context.Catalog.Current.Find(id) is not null ? id : null;
                var told = interrupted with
                {
                    Message = $"{interrupted.Message}, and nothing serves on {string.Join(" or ", interrupted.Sparks)} now"
                        + (previous is null ? string.Empty : $"; {previous} served before it and can be brought back"),
                    BringBack = previous,
                };
                _context.History.Save(told);
                Publish(told);
            }
        }
    }

    /// <summary>
    /// Follows a model container that runs on the Spark to Ready with a verify-only swap. True when one runs, false
    /// when none does, null when that could not be found out.
    /// </summary>
    private async Task<bool?> ReverifyAsync(string spark, string target, CancellationToken cancellationToken)
    {
        if (_context.Fleet.Current.Find(spark) is not { } entry || Board.BySpark.GetValueOrDefault(spark) is { IsActive: true })
        {
            return null;
        }

        try
        {
            var running = await SwapRun.FindModelContainersAsync(entry, cancellationToken).ConfigureAwait(false);
            if (running.FirstOrDefault() is { } container && container.Labels.GetValueOrDefault(ContainerLabels.Model) is { } modelId
                && _context.Catalog.Current.Find(modelId) is not null)
            {
                Start(new SwapRequest(modelId, target, "reconcile"), rollbackOf: null, verifyOnly: true);
            }

            return running.Count > 0;
        }
        catch (Exception ex) when (ex is SparkUnreachableException or SparkCommandException or Remote.RemoteCommandTimeoutException or SwapConflictException or KeyNotFoundException or ValidationFailedException)
        {
            LogReconcileFailed(spark, ex.Message);
            return null;
        }
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        // Read what was in flight now, before any new swap is saved; reach the Sparks in the background.
        var unfinished = _context.History.Unfinished();
        _reconciled = Task.Run(async () =>
        {
            try
            {
                await ReconcileAsync(unfinished, _shutdown.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Shutting down leaves running swaps unfinished in the history: the next start marks them Interrupted.</summary>
    async Task IHostedService.StopAsync(CancellationToken cancellationToken) => await StopRunsAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync() => await StopRunsAsync().ConfigureAwait(false);

    private async Task StopRunsAsync()
    {
        if (!_shutdown.IsCancellationRequested)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll([.. _runs.Values.Select(r => r.Completion), _reconciled]).ConfigureAwait(false);
    }

    /// <summary>The last moment the history recorded of a swap: its request, or the latest start or end of a phase.</summary>
    private static DateTimeOffset LastSeen(SwapStatus swap) =>
        swap.Phases.SelectMany(p => p.EndedAt is { } ended ? new[] { p.StartedAt, ended } : [p.StartedAt]).Append(swap.RequestedAt).Max();

    private static string NewId() => Guid.NewGuid().ToString("N")[..12];

    [LoggerMessage(Level = LogLevel.Information, Message = "{Actor} cancelled swap {Id}")]
    private partial void LogCancel(string actor, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Failed} failed; rolling back to {Model} with swap {Rollback}")]
    private partial void LogRollback(string failed, string rollback, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Failed} failed and could not be rolled back: {Reason}")]
    private partial void LogRollbackFailed(string failed, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Id} was interrupted by a restart during {Phase}")]
    private partial void LogInterrupted(string id, SwapPhase phase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-verify {Spark} after a restart: {Reason}")]
    private partial void LogReconcileFailed(string spark, string reason);
}
