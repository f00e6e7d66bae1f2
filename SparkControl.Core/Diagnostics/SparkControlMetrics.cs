using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SparkControl.Core.Diagnostics;

/// <summary>
/// Every instrument Spark Control publishes, in one place. Names are dotted lower case with units; tags name the
/// Spark, service or model. Exported at <c>/metrics</c>.
/// </summary>
public sealed class SparkControlMetrics
{
    public const string MeterName = "SparkControl";

    private readonly Counter<long> _healthProbes;
    private readonly Histogram<double> _healthProbeDuration;
    private readonly Counter<long> _serviceStatusChanges;
    private readonly Counter<long> _sshCommands;
    private readonly Histogram<double> _sshCommandDuration;
    private readonly Counter<long> _circuitChanges;
    private readonly Counter<long> _serviceRestarts;
    private readonly Counter<long> _swaps;
    private readonly Histogram<double> _swapPhaseDuration;
    private readonly Histogram<double> _swapTimeToReady;
    private readonly Counter<long> _gatewayRequests;
    private readonly Histogram<double> _gatewayDuration;
    private readonly Counter<long> _gpuSamples;
    private readonly Counter<long> _gpuStreamRestarts;
    private readonly Counter<double> _gpuLedgerSeconds;
    private Func<IEnumerable<Measurement<int>>>? _servicesByStatus;
    private Func<IEnumerable<GpuReading>>? _gpuReadings;
    private Func<IEnumerable<AudioWorkerReading>>? _audioReadings;
    private Func<(int InFlight, int Queued)>? _gatewayTraffic;
    private readonly Histogram<double> _audioDuration;

    public SparkControlMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _healthProbes = meter.CreateCounter<long>("sparkcontrol.health.probes", unit: "{probe}", description: "Health probes run, by Spark, service and resulting status.");
        _healthProbeDuration = meter.CreateHistogram<double>("sparkcontrol.health.probe.duration", unit: "s", description: "Time a health probe took.");
        _sshCommands = meter.CreateCounter<long>("sparkcontrol.ssh.commands", unit: "{command}", description: "Commands run on Sparks over SSH, by Spark and outcome (ok, exit-nonzero, timeout, unreachable, circuit-open, host-key, cancelled, error).");
        _sshCommandDuration = meter.CreateHistogram<double>("sparkcontrol.ssh.command.duration", unit: "s", description: "Time a command over SSH took, connection included.");
        _circuitChanges = meter.CreateCounter<long>("sparkcontrol.ssh.circuit_changes", unit: "{change}", description: "Circuit breaker transitions per Spark (open, half-open, closed).");
        _serviceRestarts = meter.CreateCounter<long>("sparkcontrol.service.restarts", unit: "{restart}", description: "Service restarts an operator asked for, by Spark and service.");
        meter.CreateObservableGauge("sparkcontrol.services", () => _servicesByStatus?.Invoke() ?? [], unit: "{service}", description: "Services by Spark and status, as the last health check saw them.");
        _swaps = meter.CreateCounter<long>("sparkcontrol.swaps", unit: "{swap}", description: "Swaps that ended, by outcome (Ready, Failed, Cancelled, Interrupted) and model.");
        _swapPhaseDuration = meter.CreateHistogram<double>("sparkcontrol.swap.phase.duration", unit: "s", description: "Time a swap spent in each phase.");
        _swapTimeToReady = meter.CreateHistogram<double>("sparkcontrol.swap.time_to_ready", unit: "s", description: "Time from a swap's request to Ready, by model.");
        _gatewayRequests = meter.CreateCounter<long>("sparkcontrol.gateway.requests", unit: "{request}", description: "Requests through the OpenAI-compatible gateway, by route, model and status code.");
        _gatewayDuration = meter.CreateHistogram<double>("sparkcontrol.gateway.request.duration", unit: "s", description: "Time from a gateway request's arrival to the end of its response, by route and model.");
        // Read from the gateway's own counts when scraped: two updates of an instrument on every request cost more.
        meter.CreateObservableUpDownCounter("sparkcontrol.gateway.in_flight", () => (long)(_gatewayTraffic?.Invoke().InFlight ?? 0), unit: "{request}", description: "Gateway requests being answered by a model server now.");
        meter.CreateObservableUpDownCounter("sparkcontrol.gateway.queued", () => (long)(_gatewayTraffic?.Invoke().Queued ?? 0), unit: "{request}", description: "Gateway requests waiting for a swap to finish.");
        _serviceStatusChanges = meter.CreateCounter<long>("sparkcontrol.service.status_changes", unit: "{change}", description: "Service status changes, by Spark, service and new status.");
        _gpuSamples = meter.CreateCounter<long>("sparkcontrol.gpu.samples", unit: "{sample}", description: "GPU samples received, by Spark and outcome (counted, started, gap, repeated).");
        _gpuStreamRestarts = meter.CreateCounter<long>("sparkcontrol.gpu.stream.restarts", unit: "{restart}", description: "Times a Spark's nvidia-smi sample stream failed or ended and was opened again.");
        _gpuLedgerSeconds = meter.CreateCounter<double>("sparkcontrol.gpu.ledger", unit: "s", description: "GPU ledger time by Spark, model (none when no model) and state (busy, loaded_idle, loading, no_model, unknown).");
        meter.CreateObservableGauge("sparkcontrol.audio.in_flight", () => Audio(r => r.InFlight), unit: "{request}", description: "Requests each audio worker is handling for the gateway now.");
        meter.CreateObservableGauge("sparkcontrol.audio.queued", () => Audio(r => r.Queued), unit: "{request}", description: "Requests waiting for a slot that each audio worker could take.");
        meter.CreateObservableCounter("sparkcontrol.audio.rejected", () => Audio(r => r.Rejected), unit: "{request}", description: "Requests refused with 503 because each audio worker and its queue were full.");
        _audioDuration = meter.CreateHistogram<double>("sparkcontrol.audio.request.duration", unit: "s", description: "Time an audio worker held a request, from the slot to the end of its answer.");
        meter.CreateObservableGauge("sparkcontrol.gpu.utilization", () => Readings(r => r.UtilizationPercent), unit: "%", description: "The GPU utilization of each Spark's latest sample.");
        meter.CreateObservableGauge("sparkcontrol.gpu.busy_ratio", () => Readings(r => r.BusyRatio), unit: "1", description: "Busy time over watched time of each Spark's GPU in the last five minutes of samples.");
        meter.CreateObservableGauge("sparkcontrol.memory.used", () => Readings(r => r.MemoryUsedBytes), unit: "By", description: "Unified memory in use on each Spark (MemTotal - MemAvailable from /proc/meminfo).");
    }

    /// <summary>What the GPU gauges report for one Spark; a null value is left out of the export.</summary>
    public sealed record GpuReading(string Spark, double? UtilizationPercent, double? BusyRatio, double? MemoryUsedBytes);

    public void RecordHealthProbe(string spark, string service, string status, TimeSpan duration)
    {
        var tags = new TagList { { "spark", spark }, { "service", service }, { "status", status } };
        _healthProbes.Add(1, tags);
        _healthProbeDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordSshCommand(string spark, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "spark", spark }, { "outcome", outcome } };
        _sshCommands.Add(1, tags);
        _sshCommandDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordCircuitChange(string spark, string state) =>
        _circuitChanges.Add(1, new TagList { { "spark", spark }, { "state", state } });

    public void RecordServiceRestart(string spark, string service) =>
        _serviceRestarts.Add(1, new TagList { { "spark", spark }, { "service", service } });

    public void RecordSwap(string outcome, string? model) =>
        _swaps.Add(1, new TagList { { "outcome", outcome }, { "model", model ?? "none" } });

    public void RecordSwapPhase(string phase, TimeSpan duration) =>
        _swapPhaseDuration.Record(duration.TotalSeconds, new TagList { { "phase", phase } });

    public void RecordTimeToReady(string? model, TimeSpan duration) =>
        _swapTimeToReady.Record(duration.TotalSeconds, new TagList { { "model", model ?? "none" } });

    public void RecordGatewayRequest(string route, string model, int status, TimeSpan duration)
    {
        var tags = new TagList { { "route", route }, { "model", model }, { "status", StatusTag(status) } };
        _gatewayRequests.Add(1, tags);
        _gatewayDuration.Record(duration.TotalSeconds, new TagList { { "route", route }, { "model", model } });
    }

    /// <summary>Where the gateway's in-flight and queued gauges read from (the drain gate's counts).</summary>
    public void ObserveGateway(Func<(int InFlight, int Queued)> source) => _gatewayTraffic = source;

    /// <summary>Every HTTP status boxed once, so that a request's status tag allocates nothing.</summary>
    private static readonly object[] Statuses = [.. Enumerable.Range(100, 500).Select(s => (object)s)];

    private static object StatusTag(int status) => status is >= 100 and < 600 ? Statuses[status - 100] : status;

    /// <summary>One audio worker's figures for the audio gauges.</summary>
    public sealed record AudioWorkerReading(string Spark, string Service, int InFlight, int Queued, long Rejected);

    /// <summary>Where the audio gauges read from (the gateway's audio capacity).</summary>
    public void ObserveAudio(Func<IEnumerable<AudioWorkerReading>> source) => _audioReadings = source;

    public void RecordAudioRequest(string spark, string service, double seconds) =>
        _audioDuration.Record(seconds, new TagList { { "spark", spark }, { "service", service } });

    private IEnumerable<Measurement<long>> Audio(Func<AudioWorkerReading, long> value) =>
        (_audioReadings?.Invoke() ?? []).Select(r => new Measurement<long>(value(r), new KeyValuePair<string, object?>("spark", r.Spark), new KeyValuePair<string, object?>("service", r.Service)));

    /// <summary>Where the services-by-status gauge reads from (the health monitor's snapshot).</summary>
    public void ObserveServices(Func<IEnumerable<Measurement<int>>> source) => _servicesByStatus = source;

    /// <summary>Where the GPU gauges read from (the busy tracker's snapshot).</summary>
    public void ObserveGpu(Func<IEnumerable<GpuReading>> source) => _gpuReadings = source;

    public void RecordGpuSample(string spark, string outcome) =>
        _gpuSamples.Add(1, new TagList { { "spark", spark }, { "outcome", outcome } });

    public void RecordGpuStreamRestart(string spark) => _gpuStreamRestarts.Add(1, new TagList { { "spark", spark } });

    /// <param name="seconds">Seconds by ledger state (busy, loaded_idle, loading, no_model, unknown); zeros are not counted.</param>
    public void RecordGpuLedger(string spark, string? model, IEnumerable<(string State, double Seconds)> seconds)
    {
        var name = model ?? "none";
        foreach (var (state, value) in seconds.Where(s => s.Seconds > 0))
        {
            _gpuLedgerSeconds.Add(value, new TagList { { "spark", spark }, { "model", name }, { "state", state } });
        }
    }

    private IEnumerable<Measurement<double>> Readings(Func<GpuReading, double?> value) =>
        (_gpuReadings?.Invoke() ?? [])
            .Select(r => (r.Spark, Value: value(r)))
            .Where(r => r.Value is not null)
            .Select(r => new Measurement<double>(r.Value!.Value, new KeyValuePair<string, object?>("spark", r.Spark)));

    public void RecordServiceStatusChange(string spark, string service, string status) =>
        _serviceStatusChanges.Add(1, new TagList { { "spark", spark }, { "service", service }, { "status", status } });
}
