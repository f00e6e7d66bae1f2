using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Launch;

namespace SparkControl.Core.Swaps;

/// <summary>A swap ended before Ready: why, and whether rolling back to the previous model makes sense.</summary>
internal sealed class SwapFailedException(SwapFailure failure, bool rollback) : Exception(failure.Message)
{
    public SwapFailure Failure { get; } = failure;

    /// <summary>True once the old model is gone and the new one failed: serving the old one again helps.</summary>
    public bool Rollback { get; } = rollback;
}

/// <summary>
/// One swap from Requested to its end: runs the phases in order on the Sparks it holds, publishes every change,
/// saves each phase to the history, and cleans up on cancel. Its status changes on its own task, and on the log
/// follow's (loading steps), always through Update, one change at a time.
/// </summary>
internal sealed partial class SwapRun
{
    private readonly SwapContext _context;
    private readonly ILogger _logger;
    private readonly ModelDefinition? _model;
    private readonly IReadOnlyList<SparkEntry> _entries;
    private readonly bool _verifyOnly;
    private readonly CancellationTokenSource _cancel;
    private readonly object _statusGate = new();
    private readonly List<string> _log = [];
    private SwapStatus _status;
    private IReadOnlyList<SwapPhase> _plan = [];
    private IReadOnlyDictionary<SwapPhase, TimeSpan> _expected = new Dictionary<SwapPhase, TimeSpan>();
    private string? _cancelledBy;
    private bool _launched;
    private bool _drainReleased;
    private volatile bool _fatalSeen;

    /// <summary>Set when dockerd stopped answering during Loading.</summary>
    private bool _dockerdLost;

    /// <summary>Failed inspects in a row tried again before one fails the swap.</summary>
    private const int InspectRetries = 3;

    private int _inspectFailures;
    private LaunchPlan? _launch;

    /// <summary>The container whose log's last lines are read once Ready, for the steps the follow had not delivered.</summary>
    private string? _catchUpFrom;

    /// <summary>The Loading phase's log follow, cancelled when the phase ends and awaited when the run does.</summary>
    private (CancellationTokenSource Cancel, Task Ended)? _follow;
    private Task _completion = Task.CompletedTask;

    public SwapRun(SwapContext context, SwapStatus status, ModelDefinition? model, IReadOnlyList<SparkEntry> entries, bool verifyOnly, CancellationToken shutdown)
    {
        _context = context;
        _logger = context.Logger;
        _status = status;
        _model = model;
        _entries = entries;
        _verifyOnly = verifyOnly;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        Shutdown = shutdown;
    }

    public Task Completion => _completion;

    private CancellationToken Shutdown { get; }

    private SparkEntry Head => _entries[0];

    private IReadOnlyCollection<string> Sparks => [.. _entries.Select(e => e.Name)];

    public void Start() => _completion = Task.Run(RunAsync);

    public void Cancel(string actor)
    {
        _cancelledBy ??= actor;
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It ended while the cancel was on its way.
        }
    }

    /// <summary>Running model containers: those the panel labelled, and launch-cluster.sh's.</summary>
    public static async Task<IReadOnlyList<ContainerSummary>> FindModelContainersAsync(SparkEntry entry, CancellationToken cancellationToken)
    {
        var containers = await entry.Host.ListContainersAsync(cancellationToken).ConfigureAwait(false);
        var cluster = entry.Definition.LaunchCluster?.ContainerName;
        return [.. containers.Where(c => c.State is ContainerStatus.Running or ContainerStatus.Restarting
            && (c.Labels.GetValueOrDefault(ContainerLabels.Role) == ContainerLabels.ModelRole || c.Name == cluster))];
    }

    private async Task RunAsync()
    {
        var rollback = false;
        var ticker = TickAsync(_cancel.Token);
        try
        {
            await RunPhasesAsync().ConfigureAwait(false);
        }
        catch (SwapFailedException failed)
        {
            rollback = failed.Rollback && _context.Swap.Rollback && _status.PreviousModelId is not null && _status.PreviousModelId != _model?.Id;
            End(SwapPhase.Failed, failed.Failure.Message, failed.Failure);
        }
        catch (OperationCanceledException) when (Shutdown.IsCancellationRequested)
        {
            // The panel is stopping: leave the swap unfinished in the history, the next start marks it Interrupted. Its
            // phase is closed now, the last moment the panel saw it, so the time the panel is down is not counted.
            _context.History.Save(_status with { Phases = [.. Close(_status.Phases, _context.Time.GetUtcNow())] });
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            await CleanUpAsync().ConfigureAwait(false);
            End(SwapPhase.Cancelled, $"cancelled by {_cancelledBy ?? "the operator"} during {_status.Phase}");
        }
        catch (Exception ex)
        {
            rollback = FailOn(ex);
        }
        finally
        {
            if (!Shutdown.IsCancellationRequested)
            {
                // For a run that ended without End (it threw on the way): the gate never stays closed.
                ReleaseDrain();
                _context.Health.RequestCheck();
            }

            await _cancel.CancelAsync().ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
            await EndFollowAsync().ConfigureAwait(false);
            _context.Ended(this, _status, rollback);
            _cancel.Dispose();
        }
    }

    /// <summary>The phases in order: preflight, then either following the model that runs already or download, drain, stop, launch, load and verify.</summary>
    private async Task RunPhasesAsync()
    {
        var findings = await PhaseAsync(SwapPhase.Preflight, _context.Swap.PreflightTimeout, PreflightAsync).ConfigureAwait(false);
        if (_verifyOnly && !findings.AlreadyServing)
        {
            throw new SwapFailedException(new SwapFailure($"{_model?.Id ?? "the model"} no longer runs on {string.Join(" and ", Sparks)}"), rollback: false);
        }

        if (findings.AlreadyServing)
        {
            // The target runs already: follow it to an answering port and check it, nothing else.
            await LoadAndVerifyAsync(findings.Running[0].Models.First().Name).ConfigureAwait(false);
        }
        else
        {
            if (findings.Download is { } download)
            {
                await PhaseAsync(SwapPhase.Downloading, _context.Swap.DownloadTimeout, token => DownloadAsync(download, token)).ConfigureAwait(false);
            }

            await PhaseAsync(SwapPhase.Draining, _context.Swap.DrainTimeout + TimeSpan.FromSeconds(5), DrainAsync).ConfigureAwait(false);
            await PhaseAsync(SwapPhase.Stopping, _context.Swap.StopTimeout, token => StopAsync(findings, token)).ConfigureAwait(false);
            if (_model is null)
            {
                End(SwapPhase.Ready, "nothing is loaded now");
                return;
            }

            await PhaseAsync(SwapPhase.Launching, _context.Swap.LaunchTimeout, LaunchAsync).ConfigureAwait(false);
            await LoadAndVerifyAsync(ContainerName).ConfigureAwait(false);
        }

        End(SwapPhase.Ready, $"{_model!.ServedName} is serving on {string.Join(" and ", Sparks)}");
        if (_catchUpFrom is { } container)
        {
            await CatchUpStepsAsync(container).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the run Failed on an exception no phase turned into a <see cref="SwapFailure"/>; true when the previous model should be brought back.</summary>
    private bool FailOn(Exception ex)
    {
        // Once the old model is stopped, a failed launch leaves nothing serving: going back helps, unless the
        // Spark cannot be reached at all.
        var phase = _status.Phase;
        var rollback = phase >= SwapPhase.Launching && ex is not SparkUnreachableException && _context.Swap.Rollback
            && _status.PreviousModelId is not null && _status.PreviousModelId != _model?.Id;
        if (ex is not (SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException or HostKeyNotApprovedException))
        {
            LogUnexpected(_status.Id, ex);
        }

        End(SwapPhase.Failed, $"{phase} failed: {ex.Message}", new SwapFailure($"{phase} failed: {ex.Message}") { LogLines = [.. TailOfLog()] });
        return rollback;
    }

    private string ContainerName => _launch?.Cluster?.Settings.ContainerName ?? _launch?.Container?.Spec.Name ?? LaunchSpecs.ModelContainerName;

    private async Task<PreflightFindings> PreflightAsync(CancellationToken cancellationToken)
    {
        var request = new SwapRequest(_model?.Id, _status.Target, _status.Requester) { StopServices = _status.StopServices };
        var findings = await SwapPreflight.InspectAsync(_context, request, _model, _entries, cancellationToken).ConfigureAwait(false);
        _launch = findings.Plan;
        var size = _model?.DownloadSizeGiB ?? 8;
        var history = _model is null ? new Dictionary<SwapPhase, TimeSpan>() : _context.History.MedianPhaseDurations(_model.Id);
        var fallback = SwapEta.Fallback(size);
        _expected = SwapPhaseDurations.Merge(history, fallback);
        _plan = findings.AlreadyServing
            ? [SwapPhase.Preflight, SwapPhase.Loading, SwapPhase.Verifying]
            : [.. SwapTransitions.Working.Where(p => p != SwapPhase.Downloading || findings.Download is not null)
                .Where(p => _model is not null || p is SwapPhase.Preflight or SwapPhase.Draining or SwapPhase.Stopping)];
        Update(s => s with
        {
            PreviousModelId = findings.PreviousModelId,
            CommandLine = findings.Plan?.CommandLine,
            Budget = findings.Budgets.FirstOrDefault(),
            EtaFromHistory = history.Count > 0,
            Message = findings.Blockers.Count > 0 ? findings.Blockers[0] : "preflight passed",
        });
        if (findings.Blockers.Count > 0)
        {
            throw new SwapFailedException(new SwapFailure(string.Join(" ", findings.Blockers)), rollback: false);
        }

        return findings;
    }

    private async Task<bool> DownloadAsync(HfDownload download, CancellationToken cancellationToken)
    {
        var lastPublish = DateTimeOffset.MinValue;
        await foreach (var progress in Head.Host.DownloadModelAsync(download, cancellationToken).ConfigureAwait(false))
        {
            var now = _context.Time.GetUtcNow();
            if (progress.Completed || now - lastPublish >= TimeSpan.FromMilliseconds(250))
            {
                lastPublish = now;
                Update(s => s with
                {
                    Download = new DownloadStatus(progress.BytesDone, progress.BytesTotal ?? download.ExpectedBytes),
                    Message = $"downloading {download.Repo}: {Units.ByteSize.FormatGiB(MemoryBudget.ToGiB(progress.BytesDone))}" + ((progress.BytesTotal ?? download.ExpectedBytes) is { } total ? $" of {Units.ByteSize.FormatGiB(MemoryBudget.ToGiB(total))}" : string.Empty),
                });
            }
        }

        return true;
    }

    private async Task<bool> DrainAsync(CancellationToken cancellationToken)
    {
        Update(s => s with { Message = "holding new requests, letting running ones finish" });
        var result = await _context.Drain.DrainAsync(Sparks, _context.Swap.DrainTimeout, cancellationToken).ConfigureAwait(false);
        Update(s => s with { Message = result.StillRunning > 0 ? $"{result.StillRunning} requests still ran when draining ended" : $"drained ({result.InFlight} requests finished)" });
        return true;
    }

    private async Task<bool> StopAsync(PreflightFindings findings, CancellationToken cancellationToken)
    {
        foreach (var (entry, models) in findings.Running)
        {
            foreach (var container in models)
            {
                // launch-cluster.sh runs its containers with --rm: the log is gone once they stop, so keep it first.
                var logs = await entry.Host.GetLogsAsync(container.Name, LogQuery.Last(_context.Swap.LogLines), cancellationToken).ConfigureAwait(false);
                Update(s => s with { PreviousLogs = [.. logs.Select(LogRedactor.Redact)], Message = $"stopping {container.Name} on {entry.Name}" });
                if (entry.Definition.LaunchCluster is { } cluster && container.Name == cluster.ContainerName)
                {
                    await entry.Host.LaunchClusterStopAsync(cluster, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await entry.Host.StopContainerAsync(container.Name, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var service in _context.Fleet.Current.ServicesOn(entry.Name).Where(s => s.Container is not null && _status.StopServices.Contains(s.Name, StringComparer.OrdinalIgnoreCase)))
            {
                Update(s => s with { Message = $"stopping the service {service.Name} on {entry.Name} to make room" });
                await entry.Host.StopContainerAsync(service.Container!, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
        }

        return true;
    }

    private async Task<bool> LaunchAsync(CancellationToken cancellationToken)
    {
        var plan = _launch!;
        Update(s => s with { Message = $"starting {plan.Model.Id}" });
        var secrets = _context.Planner.SecretValues(plan);
        if (secrets.Count > 0)
        {
            await Head.Host.WriteSecretsEnvFileAsync(secrets, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (plan.NeedsRegistryLogin && secrets.TryGetValue("NGC_API_KEY", out var key))
            {
                await Head.Host.RegistryLoginAsync(plan.Registry ?? LaunchSpecs.NimRegistry, LaunchSpecs.NimRegistryUser, key, cancellationToken).ConfigureAwait(false);
            }

            _launched = true;
            if (plan.Kind == LaunchKind.LaunchCluster)
            {
                await Head.Host.LaunchClusterStartAsync(plan.Cluster!, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The name is the panel's own: a stopped model container from an earlier swap makes way.
                var container = plan.Container!;
                if (await Head.Host.InspectContainerAsync(container.Spec.Name, cancellationToken).ConfigureAwait(false) is not null)
                {
                    await Head.Host.RemoveContainerAsync(container.Spec.Name, cancellationToken).ConfigureAwait(false);
                }

                await Head.Host.RunContainerAsync(container, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (secrets.Count > 0)
            {
                await RemoveSecretsFileAsync().ConfigureAwait(false);
            }
        }

        return true;
    }

    /// <summary>
    /// <c>docker run</c> has read the env file into the container's configuration: the file is not left on the Spark,
    /// where anything run as its user could read it. Removed even when the launch failed or was cancelled.
    /// </summary>
    private async Task RemoveSecretsFileAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _context.Time);
        try
        {
            await Head.Host.RemoveSecretsEnvFileAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SparkUnreachableException or SparkCommandException or OperationCanceledException)
        {
            LogSecretsFileLeft(_status.Id, Head.Name, ex.Message);
        }
    }

    private async Task LoadAndVerifyAsync(string container)
    {
        var model = _model!;
        var endpoint = Head.Host.GetEndpoint(model.Port);
        Update(s => s with { Container = container });
        await PhaseAsync(SwapPhase.Loading, _context.Swap.LoadTimeout, token => LoadAsync(container, endpoint, token)).ConfigureAwait(false);
        await PhaseAsync(SwapPhase.Verifying, _context.Swap.VerifyTimeout, token => VerifyAsync(endpoint, token)).ConfigureAwait(false);
    }

    /// <summary>
    /// Loading: the container runs and its port refuses. The log is followed for the steps vLLM announces; the port
    /// is tried every probe interval; a container that exits ends the swap with its exit code and last lines.
    /// </summary>
    private async Task<bool> LoadAsync(string container, Uri endpoint, CancellationToken cancellationToken)
    {
        Update(s => s with { Message = $"loading {_model!.ServedName}: the container runs, its port does not answer yet" });
        var follow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var exited = FollowLogAsync(container, follow.Token);
        _follow = (follow, exited);
        var healthPath = _model!.Runtime == ModelRuntime.Nim ? "/v1/health/ready" : "/health";
        try
        {
            var lastInspect = _context.Time.GetTimestamp();
            while (true)
            {
                if (exited.IsCompleted || _context.Time.GetElapsedTime(lastInspect) > TimeSpan.FromSeconds(2))
                {
                    // The log ends when the container does; check it also every few seconds in case the follow broke.
                    lastInspect = _context.Time.GetTimestamp();
                    if (!await EnsureStillRunsAsync(container, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }
                }

                if (_fatalSeen)
                {
                    // launch-cluster.sh's container sleeps on after vLLM inside it died: the log is the only sign.
                    var lines = TailOfLog().ToList();
                    throw new SwapFailedException(new SwapFailure(SwapText.ExplainExit(null, lines)) { LogLines = [.. lines] }, rollback: true);
                }

                if (await AnswersAsync(new Uri(endpoint, healthPath), cancellationToken).ConfigureAwait(false))
                {
                    _catchUpFrom = _status.Steps.Any(s => s.Text == SwapText.StartedStep) ? null : container;
                    return true;
                }

                await Task.WhenAny(Task.Delay(_context.Swap.ProbeInterval, _context.Time, cancellationToken), exited).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            // Its end is awaited when the run ends (EndFollowAsync): stopping a stream over SSH takes a round trip of its
            // own (the remote process group is killed), which Verifying and Ready need not wait for.
            await follow.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task EndFollowAsync()
    {
        if (_follow is not { } follow)
        {
            return;
        }

        _follow = null;
        await follow.Cancel.CancelAsync().ConfigureAwait(false);
        try
        {
            await follow.Ended.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            // The follow only feeds the steps; its end is not the swap's.
        }
        catch (Exception ex)
        {
            // Whatever ended it, the run must still end and let go of its Sparks.
            LogStepsIncomplete(_status.Id, ex);
        }
        finally
        {
            follow.Cancel.Dispose();
        }
    }

    /// <summary>
    /// Fails the swap when the container has exited; false while dockerd is away (restarting), after waiting one probe
    /// interval, so the caller looks again within the load timeout at what dockerd left of the container.
    /// </summary>
    private async Task<bool> EnsureStillRunsAsync(string container, CancellationToken cancellationToken)
    {
        ContainerInfo? info;
        try
        {
            info = await Head.Host.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerUnavailableException ex)
        {
            _dockerdLost = true;
            Update(s => s with { Message = $"{ex.Message}; waiting for it to come back" });
            await Task.Delay(_context.Swap.ProbeInterval, _context.Time, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (SparkCommandException ex) when (++_inspectFailures <= InspectRetries)
        {
            // An inspect that fails otherwise (a dockerd shutting down answers a request in flight with an error of its
            // own) is looked at again before it fails the swap: by then dockerd answers, or says plainly it is away.
            Update(s => s with { Message = $"docker inspect failed ({ex.Message}); looking again" });
            await Task.Delay(_context.Swap.ProbeInterval, _context.Time, cancellationToken).ConfigureAwait(false);
            return false;
        }

        _inspectFailures = 0;
        if (info is null || !info.Running)
        {
            await FailFromContainerAsync(container, info, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// The server answered before the followed log showed its start-up's end (the follow is a stream over SSH that can
    /// lag, or attach only after a quick server is up): the log's last lines, read once, add the steps it had not
    /// delivered. Read after Ready, never before it: one <c>docker logs</c> over SSH takes longer than the whole verify,
    /// and clients wait for Ready, not for the steps. The run keeps its Sparks' work registered until this is done.
    /// </summary>
    private async Task CatchUpStepsAsync(string container)
    {
        IReadOnlyList<string> lines;
        // Bounded like a verify: one short read, which the panel's stop also ends.
        using var deadline = new CancellationTokenSource(_context.Swap.VerifyTimeout, _context.Time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Shutdown, deadline.Token);
        try
        {
            lines = await Head.Host.GetLogsAsync(container, LogQuery.Last(_context.Swap.LogLines * 4), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException or RemoteCommandTimeoutException or OperationCanceledException)
        {
            // The steps are a record of the start, not the swap's outcome: Ready stands without them.
            return;
        }
        catch (Exception ex)
        {
            // After Ready nothing may fail the swap.
            LogStepsIncomplete(_status.Id, ex);
            return;
        }

        var at = _context.Time.GetUtcNow();
        Update(s =>
        {
            var missing = lines.Select(SwapText.LoadingStep).OfType<string>().Where(step => s.Steps.All(seen => seen.Text != step)).Distinct().ToList();
            return missing.Count == 0 ? s : s with { Steps = [.. s.Steps, .. missing.Select(step => new LoadingStep(step, at))] };
        });
    }

    private async Task FollowLogAsync(string container, CancellationToken cancellationToken)
    {
        // A container this swap started is followed from its first line (it may print before the follow attaches); one
        // found running already, from its recent lines.
        var query = _launched ? new LogQuery(null) : LogQuery.Last(_context.Swap.LogLines);
        await foreach (var line in Head.Host.FollowLogsAsync(container, query, cancellationToken).ConfigureAwait(false))
        {
            lock (_log)
            {
                _log.Add(LogRedactor.Redact(line));
                if (_log.Count > _context.Swap.LogLines * 4)
                {
                    _log.RemoveRange(0, _log.Count - (_context.Swap.LogLines * 2));
                }
            }

            if (_launch?.Kind == LaunchKind.LaunchCluster && SwapText.IsFatal(line))
            {
                _fatalSeen = true;
            }

            if (SwapText.LoadingStep(line) is { } step)
            {
                // Lines already read can still arrive after the follow is cancelled at Loading's end: they add their
                // step, but the message is Verifying's or the ended swap's by then.
                var at = _context.Time.GetUtcNow();
                Update(s => s.Steps.Any(seen => seen.Text == step) ? s : s with { Steps = [.. s.Steps, new LoadingStep(step, at)], Message = s.Phase == SwapPhase.Loading ? step : s.Message });
            }
        }
    }

    private async Task FailFromContainerAsync(string container, ContainerInfo? info, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines;
        try
        {
            lines = [.. (await Head.Host.GetLogsAsync(container, LogQuery.Last(_context.Swap.LogLines), cancellationToken).ConfigureAwait(false)).Select(LogRedactor.Redact)];
        }
        catch (SparkCommandException)
        {
            // A --rm container took its log with it: what the follow saw is all there is.
            lock (_log)
            {
                lines = [.. _log.TakeLast(_context.Swap.LogLines)];
            }
        }

        var message = SwapText.ExplainExit(info, lines);
        if (_dockerdLost)
        {
            message = $"dockerd on {Head.Name} stopped answering while {_model!.ServedName} loaded, and the container did not survive its restart: {message}";
        }

        throw new SwapFailedException(new SwapFailure(message, info?.ExitCode, info?.OomKilled == true) { LogLines = [.. lines] }, rollback: true);
    }

    private async Task<bool> VerifyAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        Update(s => s with { Message = $"checking that /v1/models lists {_model!.ServedName}" });
        string? last = null;
        while (true)
        {
            try
            {
                var (response, body) = await BoundedHttp.GetAsync(_context.Http, new Uri(endpoint, "/v1/models"), BoundedHttp.ModelsLimit, cancellationToken).ConfigureAwait(false);
                using var _ = response;
                if (response.IsSuccessStatusCode)
                {
                    using var document = JsonDocument.Parse(body);
                    var served = document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
                        ? data.EnumerateArray().Select(m => m.TryGetProperty("id", out var id) ? id.GetString() : null).ToList()
                        : [];
                    if (served.Contains(_model!.ServedName))
                    {
                        return true;
                    }

                    last = $"/v1/models lists {(served.Count == 0 ? "nothing" : string.Join(", ", served))}, not {_model.ServedName}";
                }
                else
                {
                    last = $"/v1/models answered {(int)response.StatusCode}";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = ex.Message;
            }

            Update(s => s with { Message = last ?? "checking /v1/models" });
            await Task.Delay(_context.Swap.ProbeInterval * 4, _context.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> AnswersAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await _context.Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException || ex.HttpRequestError is HttpRequestError.ConnectionError)
        {
            return false;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Runs one phase with its own deadline; an overrun fails the swap naming the setting to raise.</summary>
    private async Task<T> PhaseAsync<T>(SwapPhase phase, TimeSpan timeout, Func<CancellationToken, Task<T>> work)
    {
        Enter(phase);
        using var deadline = new CancellationTokenSource(timeout, _context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, deadline.Token);
        try
        {
            return await work(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !_cancel.IsCancellationRequested)
        {
            throw new SwapFailedException(new SwapFailure($"{phase} took longer than {timeout} (SparkControl:Swap:{phase switch { SwapPhase.Draining => "Drain", SwapPhase.Stopping => "Stop", SwapPhase.Launching => "Launch", SwapPhase.Loading => "Load", SwapPhase.Verifying => "Verify", SwapPhase.Downloading => "Download", _ => phase.ToString() }}Timeout)") { LogLines = [.. TailOfLog()] },
                rollback: phase >= SwapPhase.Stopping);
        }
    }

    private IEnumerable<string> TailOfLog()
    {
        lock (_log)
        {
            return [.. _log.TakeLast(_context.Swap.LogLines)];
        }
    }

    /// <summary>After a cancel: a container this swap started goes too, so nothing is left half started.</summary>
    private async Task CleanUpAsync()
    {
        if (!_launched || _launch is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(_context.Swap.StopTimeout, _context.Time);
        try
        {
            if (_launch.Kind == LaunchKind.LaunchCluster)
            {
                await Head.Host.LaunchClusterStopAsync(_launch.Cluster!.Settings, timeout.Token).ConfigureAwait(false);
            }
            else if (await Head.Host.InspectContainerAsync(_launch.Container!.Spec.Name, timeout.Token).ConfigureAwait(false) is not null)
            {
                await Head.Host.StopContainerAsync(_launch.Container.Spec.Name, TimeSpan.FromSeconds(10), timeout.Token).ConfigureAwait(false);
                await Head.Host.RemoveContainerAsync(_launch.Container.Spec.Name, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException or OperationCanceledException)
        {
            LogCleanUpFailed(_status.Id, ex.Message);
            Update(s => s with { Message = $"cancelled, but the started container could not be removed: {ex.Message}" });
        }
    }

    private void Enter(SwapPhase phase)
    {
        var now = _context.Time.GetUtcNow();
        Update(s =>
        {
            SwapTransitions.Ensure(s.Phase, phase);
            return s with { Phase = phase, Phases = [.. Close(s.Phases, now), new PhaseTiming(phase, now, null)] };
        }, save: true);
    }

    private void ReleaseDrain()
    {
        if (!_drainReleased)
        {
            _drainReleased = true;
            _context.Drain.Release(Sparks);
        }
    }

    private void End(SwapPhase outcome, string message, SwapFailure? failure = null)
    {
        // Requests held for this swap go on before anyone sees it ended, so an ended swap never holds the gateway.
        ReleaseDrain();
        var now = _context.Time.GetUtcNow();
        Update(s =>
        {
            SwapTransitions.Ensure(s.Phase, outcome);
            return s with
            {
                Phase = outcome,
                EndedAt = now,
                Message = message,
                Failure = failure,
                Phases = [.. Close(s.Phases, now), new PhaseTiming(outcome, now, now)],
                Progress = outcome == SwapPhase.Ready ? 1 : s.Progress,
                Eta = null,
            };
        }, save: true);
        var metrics = _context.Metrics;
        metrics.RecordSwap(outcome.ToString(), _status.ModelId);
        foreach (var phase in _status.Phases.Where(p => !p.Phase.IsTerminal() && p.Duration is not null))
        {
            metrics.RecordSwapPhase(phase.Phase.ToString(), phase.Duration!.Value);
        }

        if (outcome == SwapPhase.Ready)
        {
            metrics.RecordTimeToReady(_status.ModelId, now - _status.RequestedAt);
        }

        LogEnded(_status.Id, outcome, message);
    }

    private static IEnumerable<PhaseTiming> Close(IEnumerable<PhaseTiming> phases, DateTimeOffset now) =>
        phases.Select(p => p.EndedAt is null ? p with { EndedAt = now } : p);

    /// <summary>Changes the status, recomputes progress and ETA, publishes; on phase changes also saves it.</summary>
    private void Update(Func<SwapStatus, SwapStatus> change, bool save = false)
    {
        // Published under the lock: the log follow changes the status from its own task (its end is not awaited
        // before Verifying), and a change published after a later one would put an older phase back on the board.
        lock (_statusGate)
        {
            var next = WithProgress(change(_status));
            _status = next;

            // Saved before it is published: whoever sees a phase (an ended swap) can read it from the history too.
            if (save)
            {
                _context.History.Save(next);
            }

            _context.Publish(next);
        }
    }

    private SwapStatus WithProgress(SwapStatus status)
    {
        if (!status.IsActive || _plan.Count == 0 || status.PhaseStartedAt is not { } started)
        {
            return status;
        }

        var (progress, eta) = SwapEta.Estimate(_plan, status.Phase, _context.Time.GetUtcNow() - started, _expected, status.Download, status.EtaFromHistory);
        return status with { Progress = progress, Eta = eta };
    }

    /// <summary>Republishes once a second so the progress bar and the ETA move between phase changes.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _context.Time, cancellationToken).ConfigureAwait(false);
                if (_status.IsActive)
                {
                    // Republished so a running phase's time counts up on every page; an ended swap has no clock.
                    Update(s => s);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Swap {Id} ended {Outcome}: {Message}")]
    private partial void LogEnded(string id, SwapPhase outcome, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Id} was cancelled but its container could not be removed: {Reason}")]
    private partial void LogCleanUpFailed(string id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Id}: the secrets env file on {Spark} could not be removed ({Reason}); remove ~/.config/sparkcontrol/secrets.env there")]
    private partial void LogSecretsFileLeft(string id, string spark, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Swap {Id} failed unexpectedly")]
    private partial void LogUnexpected(string id, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Swap {Id}: reading the model server's log failed; its loading steps may be incomplete")]
    private partial void LogStepsIncomplete(string id, Exception exception);
}

/// <summary>Expected phase durations: this model's history where it has one, the size-based estimate elsewhere.</summary>
internal static class SwapPhaseDurations
{
    public static IReadOnlyDictionary<SwapPhase, TimeSpan> Merge(IReadOnlyDictionary<SwapPhase, TimeSpan> history, IReadOnlyDictionary<SwapPhase, TimeSpan> fallback) =>
        fallback.Keys.Union(history.Keys).ToDictionary(p => p, p => history.TryGetValue(p, out var seen) ? seen : fallback[p]);
}
