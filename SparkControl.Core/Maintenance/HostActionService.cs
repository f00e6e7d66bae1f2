using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Audit;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;

namespace SparkControl.Core.Maintenance;

/// <summary>What stands between an operator and a host action: passwordless sudo, and model containers still serving.</summary>
public sealed record HostActionCheck(string Spark, HostAction Action, bool SudoOk, string? SudoHelp, IReadOnlyList<string> RunningModels)
{
    public bool NeedsStopFirst => Action == HostAction.Reboot && RunningModels.Count > 0;
}

/// <summary>
/// Runs apt-get update/upgrade and reboot on a Spark, streaming their output. apt-get runs detached on the Spark (its
/// own session, its output in a log file there): a viewer that leaves, a dropped connection or a restarted panel does
/// not stop it half way, one runs per Spark at a time, and the Host page and the API re-attach to its output. A reboot
/// is refused while a model container runs unless the operator asked to stop it first; a launch-cluster.sh container
/// is stopped with the script's own stop, which also stops it on the other Spark.
/// </summary>
public sealed partial class HostActionService(SparkFleet fleet, AuditLog audit, HealthMonitor health, SparkWork work, ILogger<HostActionService>? logger = null) : IAsyncDisposable
{
    /// <summary>The most output lines kept for viewers of one action (a long upgrade prints thousands).</summary>
    public const int MaxLines = 20_000;

    private readonly ConcurrentDictionary<string, DetachedRun> _runs = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ILogger _logger = logger ?? NullLogger<HostActionService>.Instance;

    public async Task<HostActionCheck> CheckAsync(string spark, HostAction action, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        var sudo = await entry.Host.HasPasswordlessSudoAsync(cancellationToken).ConfigureAwait(false);
        var running = await RunningModelsAsync(entry, cancellationToken).ConfigureAwait(false);
        return new HostActionCheck(entry.Name, action, sudo, sudo ? null : HostActionNames.SudoHelp(entry.Definition.User), [.. running.Select(r => r.Name)]);
    }

    public IAsyncEnumerable<string> RunAsync(string spark, HostAction action, bool stopModelsFirst, AuditActor actor, CancellationToken cancellationToken) =>
        RunAsync(spark, action, stopModelsFirst, confirmedRemovals: null, actor, cancellationToken);

    /// <summary>
    /// Runs the action. apt-get full-upgrade starts only when <paramref name="confirmedRemovals"/> is the number of
    /// packages it would remove now: nothing is removed that the operator did not see in the preview.
    /// </summary>
    public async IAsyncEnumerable<string> RunAsync(string spark, HostAction action, bool stopModelsFirst, int? confirmedRemovals, AuditActor actor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (action.RunsDetached())
        {
            await StartDetachedAsync(spark, action, confirmedRemovals, actor, cancellationToken).ConfigureAwait(false);
            await foreach (var line in WatchAsync(spark, cancellationToken).ConfigureAwait(false))
            {
                yield return line;
            }

            yield break;
        }

        await foreach (var line in RunAttachedAsync(spark, action, stopModelsFirst, actor, cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    /// <summary>
    /// The Spark's detached action as the panel knows it, asking the Spark when the panel does not (after a restart):
    /// one found running is followed again, so its output and its end are seen. Null when none has run.
    /// </summary>
    public async Task<HostActionState?> AttachAsync(string spark, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        if (_runs.TryGetValue(entry.Name, out var known) && !known.Ended.Task.IsCompleted)
        {
            return known.State;
        }

        var state = await entry.Host.GetHostActionStateAsync(cancellationToken).ConfigureAwait(false);
        if (state is not null && (known is null || state.IsRunning))
        {
            // Running: followed to its end. Ended before this panel knew of it: its log is read once, for viewers.
            Monitor(entry, state, "panel");
        }

        return state;
    }

    /// <summary>
    /// The output of the Spark's detached action from its first line, live, until it ends; then a failure (exit status
    /// not 0, or gone without one) is thrown as <see cref="SparkCommandException"/>. Leaving stops only the watching.
    /// </summary>
    public async IAsyncEnumerable<string> WatchAsync(string spark, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!_runs.TryGetValue(spark, out var run))
        {
            yield break;
        }

        var next = 0;
        while (true)
        {
            var (lines, grew) = run.Read(next);
            foreach (var line in lines)
            {
                yield return line;
            }

            next += lines.Count;
            if (run.Ended.Task.IsCompleted && run.Count == next)
            {
                break;
            }

            await Task.WhenAny(grew, run.Ended.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var ended = await run.Ended.Task.ConfigureAwait(false);
        if (!ended.Succeeded)
        {
            // apt-get's last line says why (a mirror it could not reach).
            throw new SparkCommandException(run.Spark, run.LastLine is { } last ? $"{Outcome(ended)}: {last}" : Outcome(ended), ended.ExitCode ?? -1, string.Empty);
        }
    }

    private static string Outcome(HostActionState state) => state switch
    {
        { Succeeded: true } => "finished",
        { Progress: HostActionProgress.Ended } => $"{HostActionNames.Describe(state.Action)} failed (exit {state.ExitCode})",
        _ => $"{HostActionNames.Describe(state.Action)} ended without an exit status (killed, or the Spark restarted)",
    };

    private async Task StartDetachedAsync(string spark, HostAction action, int? confirmedRemovals, AuditActor actor, CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        if (_runs.TryGetValue(entry.Name, out var running) && !running.Ended.Task.IsCompleted)
        {
            throw new HostActionRefusedException($"{HostActionNames.Describe(running.State.Action)} is already running on {entry.Name}; its output is on the Host page. Wait for it to end.");
        }

        if (!await entry.Host.HasPasswordlessSudoAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new HostActionRefusedException(HostActionNames.SudoHelp(entry.Definition.User));
        }

        if (action == HostAction.AptFullUpgrade)
        {
            await EnsureRemovalsConfirmedAsync(entry, confirmedRemovals, cancellationToken).ConfigureAwait(false);
        }

        // Registered as work on the Spark before it starts, so its settings are not changed under it.
        var working = work.Begin([entry.Name], HostActionNames.Describe(action));
        try
        {
            await entry.Host.StartHostActionAsync(action, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            working.Dispose();
            throw;
        }

        audit.Record(actor, $"host.{action.ToRoute()}", entry.Name, "started");
        Monitor(entry, new HostActionState(action, DateTimeOffset.UtcNow, HostActionProgress.Running, null), actor, working);
    }

    /// <summary>Follows the action on the Spark until it ends, whoever watches, through dropped connections.</summary>
    private void Monitor(SparkEntry entry, HostActionState state, AuditActor actor, IDisposable? working = null)
    {
        var run = new DetachedRun(entry.Name, state);
        if (!ReferenceEquals(_runs.AddOrUpdate(entry.Name, run, (_, known) => known.Ended.Task.IsCompleted ? run : known), run))
        {
            // Another caller attached to it first.
            working?.Dispose();
            return;
        }

        if (state.IsRunning)
        {
            working ??= TryBeginWork(entry.Name, state.Action);
        }

        _ = Task.Run(() => FollowToTheEndAsync(entry, run, actor, working, recordEnd: state.IsRunning), CancellationToken.None);
    }

    private IDisposable? TryBeginWork(string spark, HostAction action)
    {
        try
        {
            return work.Begin([spark], HostActionNames.Describe(action));
        }
        catch (SparkBusyException)
        {
            return null;
        }
    }

    private async Task FollowToTheEndAsync(SparkEntry entry, DetachedRun run, AuditActor actor, IDisposable? working, bool recordEnd)
    {
        var token = _shutdown.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                // Each follow reads the log from its first line: the lines already kept are skipped.
                var seen = 0;
                try
                {
                    await foreach (var line in entry.Host.FollowHostActionAsync(token).ConfigureAwait(false))
                    {
                        if (++seen > run.Count)
                        {
                            run.Add(Diagnostics.LogRedactor.Redact(line));
                        }
                    }

                    var state = await entry.Host.GetHostActionStateAsync(token).ConfigureAwait(false);
                    if (state is not { IsRunning: true })
                    {
                        var ended = state ?? run.State with { Progress = HostActionProgress.Lost };
                        if (recordEnd)
                        {
                            audit.Record(actor, $"host.{ended.Action.ToRoute()}", entry.Name, Outcome(ended));
                        }

                        run.End(ended);
                        return;
                    }
                }
                catch (Exception ex) when (ex is SparkUnreachableException or SparkCommandException or Remote.RemoteCommandTimeoutException)
                {
                    LogFollowInterrupted(entry.Name, ex.Message);
                }

                // The connection dropped (or the follow ended early): the action runs on; follow it again shortly.
                await Task.Delay(TimeSpan.FromSeconds(2), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            working?.Dispose();
            health.RequestCheck();
        }
    }

    private async IAsyncEnumerable<string> RunAttachedAsync(string spark, HostAction action, bool stopModelsFirst, AuditActor actor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entry = Find(spark);
        await EnsureAllowedAsync(spark, action, stopModelsFirst, cancellationToken).ConfigureAwait(false);
        var target = entry.Name;
        using var working = work.Begin([target], HostActionNames.Describe(action));
        audit.Record(actor, $"host.{action.ToRoute()}", target, "started");
        var finished = false;
        try
        {
            if (action == HostAction.Reboot)
            {
                await foreach (var line in StopModelsAsync(entry, cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }
            }

            await foreach (var line in HostOutputAsync(entry, action, cancellationToken).ConfigureAwait(false))
            {
                yield return line;
            }

            finished = true;
        }
        finally
        {
            audit.Record(actor, $"host.{action.ToRoute()}", target, finished ? "finished" : "did not finish");
            health.RequestCheck();
        }
    }

    /// <summary>
    /// Simulates the full-upgrade again right before it starts: the count confirmed must match what it would remove
    /// now (the package lists may have changed since the preview). A count, not names, keeps the API simple; a list
    /// that changed while keeping its size is the one case this does not catch.
    /// </summary>
    private static async Task EnsureRemovalsConfirmedAsync(SparkEntry entry, int? confirmedRemovals, CancellationToken cancellationToken)
    {
        var preview = await HostUpdatesReader.SimulateFullUpgradeAsync(entry.Host, cancellationToken).ConfigureAwait(false);
        var count = preview.Removals.Count;
        if (confirmedRemovals == count)
        {
            return;
        }

        var removes = count == 0 ? "no packages" : $"{count} package{(count == 1 ? string.Empty : "s")}: {string.Join(", ", preview.Removals.Select(r => r.Package))}";
        var seen = confirmedRemovals is { } confirmed ? $"now removes {removes}, not the {confirmed} confirmed" : $"removes {removes}";
        throw new HostActionRefusedException(
            $"apt-get full-upgrade on {entry.Name} {seen}. Review them in the preview (GET /api/sparks/{entry.Name}/actions/apt-full-upgrade/preview), then start it with ?confirmRemovals={count}.");
    }

    private async Task EnsureAllowedAsync(string spark, HostAction action, bool stopModelsFirst, CancellationToken cancellationToken)
    {
        var check = await CheckAsync(spark, action, cancellationToken).ConfigureAwait(false);
        if (!check.SudoOk)
        {
            throw new HostActionRefusedException(check.SudoHelp!);
        }

        if (check.NeedsStopFirst && !stopModelsFirst)
        {
            throw new HostActionRefusedException($"{spark} still serves {string.Join(", ", check.RunningModels)}. Tick \"stop it first\" to stop it before the reboot, or unload the model.");
        }
    }

    /// <summary>Stops every model before a reboot: a launch-cluster.sh model with its own stop on every node, a container with docker stop.</summary>
    private static async IAsyncEnumerable<string> StopModelsAsync(SparkEntry entry, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var (name, clusterSettings) in await RunningModelsAsync(entry, cancellationToken).ConfigureAwait(false))
        {
            if (clusterSettings is not null)
            {
                yield return $"Stopping {name} with launch-cluster.sh stop (on every node)…";
                await entry.Host.LaunchClusterStopAsync(clusterSettings, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                yield return $"Stopping {name}…";
                await entry.Host.StopContainerAsync(name, ServiceActions.StopGrace, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The action's output, redacted; a reboot that closes the connection ends it with a line saying so instead of failing.</summary>
    private static async IAsyncEnumerable<string> HostOutputAsync(SparkEntry entry, HostAction action, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var output = entry.Host.RunHostActionAsync(action, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var disposeOutput = output.ConfigureAwait(false);
        while (true)
        {
            string line;
            var closed = false;
            try
            {
                if (!await output.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }

                line = Diagnostics.LogRedactor.Redact(output.Current);
            }
            catch (SparkUnreachableException) when (action == HostAction.Reboot)
            {
                // A reboot ends the SSH session that asked for it: that is success, not a failure.
                line = $"The connection closed: {entry.Name} is rebooting and shows as unreachable until it is back.";
                closed = true;
            }

            yield return line;
            if (closed)
            {
                yield break;
            }
        }
    }

    private SparkEntry Find(string spark) => fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");

    /// <summary>Model containers running on the Spark: those the panel labelled, and launch-cluster.sh's container.</summary>
    private static async Task<IReadOnlyList<(string Name, LaunchClusterSettings? Cluster)>> RunningModelsAsync(SparkEntry entry, CancellationToken cancellationToken)
    {
        var containers = await entry.Host.ListContainersAsync(cancellationToken).ConfigureAwait(false);
        var cluster = entry.Definition.LaunchCluster;
        return [.. containers
            .Where(c => c.State == ContainerStatus.Running && (c.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole || c.Name == cluster?.ContainerName))
            .Select(c => (c.Name, c.Name == cluster?.ContainerName ? cluster : null))];
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        _shutdown.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Following the host action on {Spark} was interrupted ({Reason}); it runs on there, and is followed again")]
    private partial void LogFollowInterrupted(string spark, string reason);

    /// <summary>One detached action as the panel follows it: its output so far (bounded), and its end.</summary>
    private sealed class DetachedRun(string spark, HostActionState state)
    {
        private readonly List<string> _lines = [];
        private TaskCompletionSource _grew = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _dropped;

        public string Spark { get; } = spark;

        public HostActionState State { get; private set; } = state;

        public TaskCompletionSource<HostActionState> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Lines received so far, those dropped to stay within <see cref="MaxLines"/> included.</summary>
        public int Count
        {
            get
            {
                lock (_lines)
                {
                    return _dropped + _lines.Count;
                }
            }
        }

        public void Add(string line)
        {
            TaskCompletionSource grew;
            lock (_lines)
            {
                _lines.Add(line);
                if (_lines.Count > MaxLines)
                {
                    _lines.RemoveAt(0);
                    _dropped++;
                }

                grew = _grew;
                _grew = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            grew.TrySetResult();
        }

        /// <summary>The lines from number <paramref name="from"/> on (those dropped are skipped), and a task for the next.</summary>
        public (IReadOnlyList<string> Lines, Task Grew) Read(int from)
        {
            lock (_lines)
            {
                var skip = Math.Max(0, from - _dropped);
                var lines = _lines.Skip(skip).ToList();
                // A viewer behind the dropped lines continues at the first kept one.
                return (from < _dropped ? [$"… {_dropped - from} earlier lines are not kept", .. lines] : lines, _grew.Task);
            }
        }

        public string? LastLine
        {
            get
            {
                lock (_lines)
                {
                    return _lines.Count > 0 ? _lines[^1] : null;
                }
            }
        }

        public void End(HostActionState ended)
        {
            State = ended;
            Ended.TrySetResult(ended);
        }
    }
}
