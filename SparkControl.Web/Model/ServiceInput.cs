using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>Services as the API and the Settings form send and show them.</summary>
public static class ServiceInput
{
    public sealed record LinkBody(string? Title, string? Url);

    /// <summary>A model name an audio service answers to at the gateway, with its aliases.</summary>
    public sealed record ModelNameBody(string? Name, string[]? Aliases);

    public sealed record ServiceBody(string? Spark, string? Name, string? Kind, string? Container, int? Port, string? Url, string? HealthPath, string? MemoryLimit, double? MemoryEstimateGiB, LinkBody[]? Links)
    {
        public ModelNameBody[]? Models { get; init; }

        /// <summary>Requests the gateway sends the worker at once (default 2; at most 3 until a sweep measured more).</summary>
        public int? MaxInFlight { get; init; }

        /// <summary>The knee a concurrency sweep measured (written by the sweep; kept by edits).</summary>
        public int? MeasuredKnee { get; init; }

        /// <summary>Qdrant's gRPC port (default: the port after <see cref="Port"/>).</summary>
        public int? GrpcPort { get; init; }
    }

    public sealed record ServiceView(string Spark, string Name, string Kind, string Status, string Reason, DateTimeOffset Since, DateTimeOffset CheckedAt, string? Container, string? ContainerStatus, string? Endpoint, string[] ServedModels, bool IsModelServer);

    public sealed record ContainerView(string Id, string Image, string? ImageId, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int RestartCount, bool OomKilled, int ExitCode, long? MemoryLimitBytes, long? MemorySwapLimitBytes);

    public sealed record ModelServerView(string? ServedModel, string? Root, int? MaxModelLen, double? RequestsRunning, double? RequestsWaiting, double? KvCacheUsage, double? TokensPerSecond);

    public sealed record SegmentView(DateTimeOffset From, DateTimeOffset To, string Status, string Reason);

    public sealed record ServiceDetailView(ServiceView Service, ServiceBody Definition, ContainerView? Container, ModelServerView? ModelServer, SegmentView[] Timeline, double? UptimeSeconds, string? TimelineUnavailable);

    public static ServiceDefinition ToDefinition(ServiceBody body)
    {
        var errors = Read(body, out var service);
        return errors.Count > 0 ? throw new ValidationFailedException(errors) : service!;
    }

    /// <summary>The same as <see cref="ToDefinition"/> without throwing: the form marks each field with its error as it is typed.</summary>
    public static IReadOnlyList<FieldError> Read(ServiceBody body, out ServiceDefinition? service)
    {
        service = null;
        var errors = new List<FieldError>();
        var kind = ServiceKindNames.Parse(body.Kind);
        if (kind is null)
        {
            errors.Add(new FieldError("kind", $"kind must be one of {string.Join(", ", ServiceKindNames.All)}"));
        }

        long? memory = null;
        if (!string.IsNullOrEmpty(body.MemoryLimit))
        {
            if (Validators.MemoryLimit(body.MemoryLimit, out var bytes) is { } problem)
            {
                errors.Add(new FieldError("memoryLimit", problem));
            }
            else
            {
                memory = bytes;
            }
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var definition = new ServiceDefinition
        {
            Spark = body.Spark ?? string.Empty,
            Name = body.Name ?? string.Empty,
            Kind = kind!.Value,
            Container = string.IsNullOrEmpty(body.Container) ? null : body.Container,
            Port = body.Port,
            GrpcPort = body.GrpcPort,
            Url = string.IsNullOrEmpty(body.Url) ? null : body.Url,
            HealthPath = string.IsNullOrEmpty(body.HealthPath) ? null : body.HealthPath,
            MemoryLimitBytes = memory,
            MemoryEstimateGiB = body.MemoryEstimateGiB,
            Links = [.. (body.Links ?? []).Select(l => new ServiceLink(l.Title ?? string.Empty, l.Url ?? string.Empty))],
            Models = [.. (body.Models ?? []).Select(m => new ServiceModelName(m.Name ?? string.Empty, [.. m.Aliases ?? []]))],
            MaxInFlight = body.MaxInFlight,
            MeasuredKnee = body.MeasuredKnee,
        };
        var invalid = ServicesYaml.Validate(definition);
        service = invalid.Count > 0 ? null : definition;
        return invalid;
    }

    public static ServiceBody FromDefinition(ServiceDefinition service) => new(
        service.Spark, service.Name, service.Kind.ToYaml(), service.Container, service.Port, service.Url, service.HealthPath,
        service.MemoryLimitBytes is { } bytes ? ByteSize.Format(bytes) : null, service.MemoryEstimateGiB,
        [.. service.Links.Select(l => new LinkBody(l.Title, l.Url))])
    {
        Models = service.Models.IsEmpty ? null : [.. service.Models.Select(m => new ModelNameBody(m.Name, [.. m.Aliases]))],
        MaxInFlight = service.MaxInFlight,
        MeasuredKnee = service.MeasuredKnee,
        GrpcPort = service.GrpcPort,
    };

    public static ServiceView View(ServiceHealth health) => new(
        health.Spark, health.Name, health.Kind.ToYaml(), health.Status.ToString(), health.Reason, health.Since, health.CheckedAt,
        health.Container, health.ContainerStatus?.ToDockerName(), health.Endpoint?.ToString(), [.. health.ServedModels], health.IsModelServer);

    public static ServiceDetailView Detail(ServiceDetail detail) => new(
        View(detail.Health),
        FromDefinition(detail.Definition),
        detail.Container is { } c
            ? new ContainerView(c.Id, c.Image, c.ImageId, c.Status.ToDockerName(), c.StartedAt, c.FinishedAt, c.RestartCount, c.OomKilled, c.ExitCode, c.MemoryLimitBytes, c.MemorySwapLimitBytes)
            : null,
        detail.ModelServer is { } m
            ? new ModelServerView(m.ServedModel, m.Root, m.MaxModelLen, m.Metrics?.RequestsRunning, m.Metrics?.RequestsWaiting, m.Metrics?.KvCacheUsage, m.TokensPerSecond)
            : null,
        [.. detail.Timeline.Select(s => new SegmentView(s.From, s.To, s.Status.ToString(), s.Reason))],
        detail.Uptime?.TotalSeconds,
        detail.TimelineUnavailable);
}
