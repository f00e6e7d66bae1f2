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

    public SparkControlMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _healthProbes = meter.CreateCounter<long>("sparkcontrol.health.probes", unit: "{probe}", description: "Health probes run, by Spark, service and resulting status.");
        _healthProbeDuration = meter.CreateHistogram<double>("sparkcontrol.health.probe.duration", unit: "s", description: "Time a health probe took.");
        _serviceStatusChanges = meter.CreateCounter<long>("sparkcontrol.service.status_changes", unit: "{change}", description: "Service status changes, by Spark, service and new status.");
    }

    public void RecordHealthProbe(string spark, string service, string status, TimeSpan duration)
    {
        var tags = new TagList { { "spark", spark }, { "service", service }, { "status", status } };
        _healthProbes.Add(1, tags);
        _healthProbeDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordServiceStatusChange(string spark, string service, string status) =>
        _serviceStatusChanges.Add(1, new TagList { { "spark", spark }, { "service", service }, { "status", status } });
}
