using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Services;

/// <summary>Everything the detail page shows about one service.</summary>
public sealed record ServiceDetail(
    ServiceHealth Health,
    ServiceDefinition Definition,
    ContainerInfo? Container,
    ModelServerStats? ModelServer,
    IReadOnlyList<TimelineSegment> Timeline,
    TimeSpan? Uptime,
    string? TimelineUnavailable);

/// <summary>Gathers a service's health, container facts, model-server load and 24-hour timeline.</summary>
public sealed class ServiceDetailReader(HealthMonitor health, ModelServerMonitor models, ServiceActions actions, ServiceStatusLog statusLog, TimeProvider time)
{
    public static readonly TimeSpan TimelineSpan = TimeSpan.FromHours(24);

    public async Task<ServiceDetail> ReadAsync(string spark, string service, CancellationToken cancellationToken)
    {
        var current = health.Current.Value.Find(spark, service) ?? throw new KeyNotFoundException($"No service '{service}' is known on {spark}.");
        var (entry, definition, container) = ResolveOrProbeOnly(spark, service);
        ContainerInfo? info = null;
        if (container is not null)
        {
            info = await entry.Host.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        IReadOnlyList<TimelineSegment> timeline = [];
        string? unavailable = null;
        if (statusLog.IsAvailable)
        {
            timeline = ServiceTimeline.Build(statusLog.Read(spark, current.Name, now - TimelineSpan), now - TimelineSpan, now);
        }
        else
        {
            unavailable = "The timeline needs the database, which cannot be written (see Settings).";
        }

        var uptime = info is { Running: true, StartedAt: { } started } ? now - started : (TimeSpan?)null;
        return new ServiceDetail(current, definition, info, models.Find(spark, current.Name), timeline, uptime, unavailable);
    }

    private (SparkEntry Entry, ServiceDefinition Definition, string? Container) ResolveOrProbeOnly(string spark, string service)
    {
        try
        {
            var (entry, definition, container) = actions.Resolve(spark, service);
            return (entry, definition, container);
        }
        catch (Storage.SettingsConflictException)
        {
            // A URL-only service: no container to inspect, the probe is all there is.
            var (entry, definition) = actions.ResolveDefinition(spark, service);
            return (entry, definition, null);
        }
    }
}
