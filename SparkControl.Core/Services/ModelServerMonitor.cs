using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Streams;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Services;

/// <summary>What a model server reports about itself: the model it serves and its load.</summary>
public sealed record ModelServerStats(string Spark, string Service, string? ServedModel, string? Root, int? MaxModelLen, VllmMetrics? Metrics, double? TokensPerSecond, string? Error);

/// <summary>
/// Reads every healthy model server's <c>/v1/models</c> and <c>/metrics</c> on the health interval and publishes
/// requests running and waiting, KV-cache usage (current and older metric names) and generation tokens per second.
/// </summary>
public sealed partial class ModelServerMonitor(HealthMonitor health, HttpClient http, TimeProvider time, IOptionsMonitor<SparkControlOptions> options, ILogger<ModelServerMonitor> logger) : BackgroundService
{
    private readonly SnapshotStream<ImmutableDictionary<string, ModelServerStats>> _stream = new(ImmutableDictionary<string, ModelServerStats>.Empty, time);

    public ImmutableDictionary<string, ModelServerStats> Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<ImmutableDictionary<string, ModelServerStats>>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public ModelServerStats? Find(string spark, string service) => Current.GetValueOrDefault($"{spark}/{service}");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReadOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogRoundFailed(ex);
            }

            try
            {
                await Task.Delay(options.CurrentValue.Health.Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }
    }

    public async Task ReadOnceAsync(CancellationToken cancellationToken)
    {
        var servers = health.Current.Value.Sparks
            .SelectMany(s => s.Services)
            .Where(s => (s.IsModelServer || s.Kind == ServiceKind.VllmLlm) && s.Status == HealthStatus.Healthy && s.Endpoint is not null)
            .ToList();
        var previous = Current;
        var results = await Task.WhenAll(servers.Select(s => ReadAsync(s, previous.GetValueOrDefault(s.Key), cancellationToken))).ConfigureAwait(false);
        _stream.Publish(ImmutableDictionary.CreateRange(results.Select(r => KeyValuePair.Create($"{r.Spark}/{r.Service}", r))));
    }

    private async Task<ModelServerStats> ReadAsync(ServiceHealth service, ModelServerStats? previous, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.CurrentValue.Health.ProbeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            string? served = null, root = null;
            int? maxModelLen = null;
            var (models, modelsBody) = await BoundedHttp.GetAsync(http, new Uri(service.Endpoint!, "/v1/models"), BoundedHttp.ModelsLimit, linked.Token).ConfigureAwait(false);
            using (models)
            {
                if (models.IsSuccessStatusCode)
                {
                    using var document = JsonDocument.Parse(modelsBody);
                    if (document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array && data.GetArrayLength() > 0)
                    {
                        var first = data[0];
                        served = first.TryGetProperty("id", out var id) ? id.GetString() : null;
                        root = first.TryGetProperty("root", out var r) ? r.GetString() : null;
                        maxModelLen = first.TryGetProperty("max_model_len", out var len) && len.ValueKind == JsonValueKind.Number ? len.GetInt32() : null;
                    }
                }
            }

            // NIM serves its Prometheus text under /v1; vLLM at the root.
            var (scrape, scrapeBody) = await BoundedHttp.GetAsync(http, new Uri(service.Endpoint!, service.Kind == ServiceKind.Nim ? "/v1/metrics" : "/metrics"), BoundedHttp.MetricsLimit, linked.Token).ConfigureAwait(false);
            string text;
            using (scrape)
            {
                scrape.EnsureSuccessStatusCode();
                text = BoundedHttp.Text(scrapeBody, scrape.Content.Headers);
            }

            var metrics = VllmMetrics.From(text, time.GetUtcNow());
            return new ModelServerStats(service.Spark, service.Name, served, root, maxModelLen, metrics, metrics.TokensPerSecondSince(previous?.Metrics), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ModelServerStats(service.Spark, service.Name, previous?.ServedModel, previous?.Root, previous?.MaxModelLen, previous?.Metrics, null, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading model server metrics failed")]
    private partial void LogRoundFailed(Exception ex);
}

/// <summary>One stretch of a service's status timeline.</summary>
public sealed record TimelineSegment(DateTimeOffset From, DateTimeOffset To, HealthStatus Status, string Reason);

public static class ServiceTimeline
{
    /// <summary>
    /// The statuses over [<paramref name="from"/>, <paramref name="to"/>) from recorded changes (the first may start
    /// before <paramref name="from"/>); time before any record is Unknown.
    /// </summary>
    public static IReadOnlyList<TimelineSegment> Build(IReadOnlyList<Services.ServiceStatusChange> changes, DateTimeOffset from, DateTimeOffset to)
    {
        var segments = new List<TimelineSegment>();
        var cursor = from;
        var status = HealthStatus.Unknown;
        var reason = "no record";
        foreach (var change in changes.OrderBy(c => c.At))
        {
            if (change.At <= from)
            {
                status = change.Status;
                reason = change.Reason;
                continue;
            }

            if (change.At >= to)
            {
                break;
            }

            if (change.At > cursor)
            {
                segments.Add(new TimelineSegment(cursor, change.At, status, reason));
            }

            cursor = change.At;
            status = change.Status;
            reason = change.Reason;
        }

        if (to > cursor)
        {
            segments.Add(new TimelineSegment(cursor, to, status, reason));
        }

        return segments;
    }
}
