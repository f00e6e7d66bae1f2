using Microsoft.Extensions.Logging;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Audit;
using SparkControl.Core.Remote;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Services;

/// <summary>A limit the panel set (or found already right) on a running container.</summary>
public sealed record LimitChange(string Service, string Container, long? BeforeBytes, long? AfterBytes, bool Changed, string? Problem);

/// <summary>
/// What an operator can do to a service: start, stop, restart its container, and cap its memory. Every action is
/// written to the audit log and followed by a health check, so every open browser sees the outcome.
/// </summary>
public sealed partial class ServiceActions(
    SparkFleet fleet,
    HealthMonitor health,
    ServiceSettingsStore settings,
    AuditLog audit,
    SparkControlMetrics metrics,
    ILogger<ServiceActions> logger)
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

    public Task StartAsync(string spark, string service, AuditActor actor, CancellationToken cancellationToken) =>
        ActAsync(spark, service, actor, "service.start", (host, container) => host.StartContainerAsync(container, cancellationToken));

    public Task StopAsync(string spark, string service, AuditActor actor, CancellationToken cancellationToken) =>
        ActAsync(spark, service, actor, "service.stop", (host, container) => host.StopContainerAsync(container, StopGrace, cancellationToken));

    public Task RestartAsync(string spark, string service, AuditActor actor, CancellationToken cancellationToken) =>
        ActAsync(spark, service, actor, "service.restart", async (host, container) =>
        {
            await host.StopContainerAsync(container, StopGrace, cancellationToken).ConfigureAwait(false);
            await host.StartContainerAsync(container, cancellationToken).ConfigureAwait(false);
            metrics.RecordServiceRestart(spark, service);
        });

    /// <summary>
    /// Caps a service's memory with <c>docker update --memory X --memory-swap X</c> (equal: no swap at all) and keeps the
    /// cap in services.yaml, so "Reapply patches" can restore it after the container is recreated.
    /// </summary>
    public async Task<LimitChange> SetMemoryLimitAsync(string spark, string service, long bytes, AuditActor actor, CancellationToken cancellationToken)
    {
        if (Validation.Validators.MemoryLimit(bytes) is { } problem)
        {
            throw new Validation.ValidationFailedException([new Validation.FieldError("memoryLimit", problem)]);
        }

        var (entry, definition, container) = Resolve(spark, service);
        var memory = await entry.Host.GetMemoryInfoAsync(cancellationToken).ConfigureAwait(false);
        if (Validation.Validators.MemoryLimit(bytes, entry.Name, memory.TotalBytes) is { } tooLarge)
        {
            throw new Validation.ValidationFailedException([new Validation.FieldError("memoryLimit", tooLarge)]);
        }

        var before = (await entry.Host.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false))?.MemoryLimitBytes;
        await entry.Host.UpdateMemoryLimitAsync(container, bytes, bytes, cancellationToken).ConfigureAwait(false);
        if (settings.Find(definition.Key) is { } configured)
        {
            await settings.UpdateAsync(configured.Key, configured with { MemoryLimitBytes = bytes }, cancellationToken).ConfigureAwait(false);
        }

        audit.Record(actor, "service.limits", definition.Key, $"memory {Describe(before)} -> {ByteSize.Format(bytes)} (swap off)");
        health.RequestCheck();
        return new LimitChange(service, container, before, bytes, before != bytes, null);
    }

    /// <summary>Re-applies every configured memory cap on <paramref name="spark"/> to its running containers; reports each.</summary>
    public async Task<IReadOnlyList<LimitChange>> ReapplyPatchesAsync(string spark, AuditActor actor, CancellationToken cancellationToken)
    {
        var entry = fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");
        var changes = new List<LimitChange>();
        foreach (var service in fleet.Current.ServicesOn(spark).Where(s => s.MemoryLimitBytes is not null && s.Container is not null))
        {
            var container = service.Container!;
            var limit = service.MemoryLimitBytes!.Value;
            var info = await entry.Host.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false);
            if (info is null || !info.Running)
            {
                changes.Add(new LimitChange(service.Name, container, info?.MemoryLimitBytes, null, false, info is null ? "container not found" : "container not running"));
                continue;
            }

            if (info.MemoryLimitBytes == limit && info.MemorySwapLimitBytes == limit)
            {
                changes.Add(new LimitChange(service.Name, container, limit, limit, false, null));
                continue;
            }

            await entry.Host.UpdateMemoryLimitAsync(container, limit, limit, cancellationToken).ConfigureAwait(false);
            changes.Add(new LimitChange(service.Name, container, info.MemoryLimitBytes, limit, true, null));
        }

        audit.Record(actor, "spark.reapply-patches", spark,
            changes.Count == 0 ? "no limits configured" : string.Join("; ", changes.Select(c => $"{c.Service}: {(c.Problem ?? (c.Changed ? $"{Describe(c.BeforeBytes)} -> {Describe(c.AfterBytes)}" : "already right"))}")));
        health.RequestCheck();
        return changes;
    }

    /// <summary>The Spark, the service's definition and its container; a model server found by its labels counts too.</summary>
    public (SparkEntry Spark, ServiceDefinition Definition, string Container) Resolve(string spark, string service)
    {
        var (entry, definition) = ResolveDefinition(spark, service);
        if (definition.Container is null)
        {
            throw new SettingsConflictException($"{definition.Key} has no container the panel could start or stop; it is only probed at its URL.");
        }

        return (entry, definition, definition.Container);
    }

    public (SparkEntry Spark, ServiceDefinition Definition) ResolveDefinition(string spark, string service)
    {
        var entry = fleet.Current.Find(spark) ?? throw new KeyNotFoundException($"No Spark is named '{spark}'.");
        var definition = fleet.Current.ServicesOn(spark).FirstOrDefault(s => string.Equals(s.Name, service, StringComparison.OrdinalIgnoreCase));
        if (definition is null && health.Current.Value.Find(spark, service) is { Container: { } modelContainer, IsModelServer: true } found)
        {
            definition = new ServiceDefinition { Spark = entry.Name, Name = found.Name, Kind = found.Kind, Container = modelContainer };
        }

        if (definition is null)
        {
            throw new KeyNotFoundException($"No service '{service}' is known on {spark}.");
        }

        return (entry, definition);
    }

    private async Task ActAsync(string spark, string service, AuditActor actor, string action, Func<ISparkHost, string, Task> act)
    {
        var (entry, definition, container) = Resolve(spark, service);
        try
        {
            await act(entry.Host, container).ConfigureAwait(false);
            audit.Record(actor, action, definition.Key, "done");
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException or Remote.RemoteCommandTimeoutException)
        {
            audit.Record(actor, action, definition.Key, $"failed: {ex.Message}");
            throw;
        }
        finally
        {
            LogAction(actor.Name, action, definition.Key);
            health.RequestCheck();
        }
    }

    private static string Describe(long? bytes) => bytes is { } value ? ByteSize.Format(value) : "none";

    [LoggerMessage(Level = LogLevel.Information, Message = "{Actor}: {Action} {Target}")]
    private partial void LogAction(string actor, string action, string target);
}
