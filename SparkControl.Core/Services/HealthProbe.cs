using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SparkControl.Core.Sparks;

namespace SparkControl.Core.Services;

/// <summary>How an HTTP probe ended.</summary>
public enum ProbeOutcome
{
    /// <summary>Answered 2xx.</summary>
    Ok,

    /// <summary>Answered with a non-success status.</summary>
    HttpError,

    /// <summary>Nothing listens on the port (vLLM while it loads).</summary>
    Refused,

    /// <summary>No answer within the probe's timeout.</summary>
    Timeout,

    /// <summary>Any other failure (DNS, reset, TLS).</summary>
    Failed,
}

/// <summary>The result of probing one service; for vLLM also what <c>/v1/models</c> listed.</summary>
public sealed record ProbeResult(ProbeOutcome Outcome, int? StatusCode, string? Detail, TimeSpan Elapsed)
{
    public ImmutableArray<string> ServedModels { get; init; } = [];

    /// <summary>Whether <c>/v1/models</c> answered, so <see cref="ServedModels"/> is what the server serves now.</summary>
    public bool ModelsAnswered { get; init; }

    /// <summary>For NIM: whether <c>/v1/health/live</c> answered 200 when ready did not.</summary>
    public bool? Live { get; init; }
}

/// <summary>Runs the right HTTP probe for a service's kind.</summary>
public sealed class HealthProbe(HttpClient http, TimeProvider time)
{
    public async Task<ProbeResult> ProbeAsync(ServiceKind kind, Uri baseUri, string healthPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The timeout runs on the TimeProvider, so tests with a fake clock decide when a probe gives up.
        using var timeoutCts = new CancellationTokenSource(timeout, time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var started = time.GetTimestamp();
        var first = await GetAsync(new Uri(baseUri, healthPath), started, cts.Token, cancellationToken).ConfigureAwait(false);
        if (kind == ServiceKind.VllmLlm && first.Outcome == ProbeOutcome.Ok)
        {
            // /health says the engine is alive; /v1/models says which model it serves.
            var (models, result) = await GetModelsAsync(new Uri(baseUri, "/v1/models"), started, cts.Token, cancellationToken).ConfigureAwait(false);
            return result with { ServedModels = models, ModelsAnswered = result.Outcome == ProbeOutcome.Ok };
        }

        if (kind is ServiceKind.Embeddings or ServiceKind.Nim && first.Outcome == ProbeOutcome.Ok)
        {
            // OpenAI-style servers list their models too; one that does not (TEI, an older NIM) is still healthy.
            var (models, result) = await GetModelsAsync(new Uri(baseUri, "/v1/models"), started, cts.Token, cancellationToken).ConfigureAwait(false);
            return result.Outcome == ProbeOutcome.Ok ? first with { ServedModels = models, ModelsAnswered = true, Elapsed = result.Elapsed } : first;
        }

        if (kind == ServiceKind.Nim && first.Outcome == ProbeOutcome.HttpError)
        {
            var live = await GetAsync(new Uri(baseUri, "/v1/health/live"), started, cts.Token, cancellationToken).ConfigureAwait(false);
            return first with { Live = live.Outcome == ProbeOutcome.Ok, Elapsed = live.Elapsed };
        }

        return first;
    }

    private async Task<ProbeResult> GetAsync(Uri uri, long started, CancellationToken probeToken, CancellationToken outerToken)
    {
        try
        {
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, probeToken).ConfigureAwait(false);
            var elapsed = time.GetElapsedTime(started);
            return response.IsSuccessStatusCode
                ? new ProbeResult(ProbeOutcome.Ok, (int)response.StatusCode, null, elapsed)
                : new ProbeResult(ProbeOutcome.HttpError, (int)response.StatusCode, $"{(int)response.StatusCode} {response.ReasonPhrase}", elapsed);
        }
        catch (Exception ex) when (Classify(ex, outerToken) is { } outcome)
        {
            return new ProbeResult(outcome, null, Describe(ex, outcome), time.GetElapsedTime(started));
        }
    }

    private async Task<(ImmutableArray<string>, ProbeResult)> GetModelsAsync(Uri uri, long started, CancellationToken probeToken, CancellationToken outerToken)
    {
        try
        {
            var (response, body) = await BoundedHttp.GetAsync(http, uri, BoundedHttp.ModelsLimit, probeToken).ConfigureAwait(false);
            using var _ = response;
            var elapsed = time.GetElapsedTime(started);
            if (!response.IsSuccessStatusCode)
            {
                return ([], new ProbeResult(ProbeOutcome.HttpError, (int)response.StatusCode, $"/v1/models answered {(int)response.StatusCode}", elapsed));
            }

            using var document = JsonDocument.Parse(body);
            var names = ImmutableArray.CreateBuilder<string>();
            if (document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                foreach (var model in data.EnumerateArray())
                {
                    if (model.TryGetProperty("id", out var id) && id.GetString() is { } name)
                    {
                        names.Add(name);
                    }
                }
            }

            return (names.ToImmutable(), new ProbeResult(ProbeOutcome.Ok, (int)response.StatusCode, null, elapsed));
        }
        catch (JsonException ex)
        {
            return ([], new ProbeResult(ProbeOutcome.Failed, null, $"/v1/models is not JSON: {ex.Message}", time.GetElapsedTime(started)));
        }
        catch (Exception ex) when (Classify(ex, outerToken) is { } outcome)
        {
            return ([], new ProbeResult(outcome, null, Describe(ex, outcome), time.GetElapsedTime(started)));
        }
    }

    private static ProbeOutcome? Classify(Exception ex, CancellationToken outerToken)
    {
        if (outerToken.IsCancellationRequested)
        {
            return null;
        }

        if (ex is OperationCanceledException)
        {
            return ProbeOutcome.Timeout;
        }

        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return ProbeOutcome.Refused;
            }
        }

        return ex is HttpRequestException or IOException or SocketException ? ProbeOutcome.Failed : null;
    }

    private static string Describe(Exception ex, ProbeOutcome outcome) => outcome switch
    {
        ProbeOutcome.Refused => "connection refused",
        ProbeOutcome.Timeout => "no answer in time",
        _ => ex is HttpRequestException { HttpRequestError: var error } && error != HttpRequestError.Unknown
            ? error.ToString()
            : ex.GetBaseException().Message,
    };
}

/// <summary>Turns container state plus probe result into a status and a reason. Pure, so it is tested as a table.</summary>
public static class HealthClassifier
{
    public static (HealthStatus Status, string Reason) Classify(
        ServiceKind kind,
        bool expectsContainer,
        Hosts.ContainerStatus? container,
        ProbeResult? probe,
        string? expectedServedName = null,
        Hosts.ContainerInfo? details = null)
    {
        if (expectsContainer && FromContainer(container, details) is { } stopped)
        {
            return stopped;
        }

        if (probe is null)
        {
            return expectsContainer ? (HealthStatus.Healthy, "container running (no probe configured)") : (HealthStatus.Unknown, "nothing to check");
        }

        return FromProbe(kind, expectsContainer, probe, expectedServedName);
    }

    /// <summary>What the container's state alone says; null when it runs and the probe decides.</summary>
    private static (HealthStatus Status, string Reason)? FromContainer(Hosts.ContainerStatus? container, Hosts.ContainerInfo? details)
    {
        switch (container)
        {
            case null:
                return (HealthStatus.Down, "container not found");
            case Hosts.ContainerStatus.Running:
                return null;
            case Hosts.ContainerStatus.Restarting:
                return (HealthStatus.Degraded, "container is restarting");
            case Hosts.ContainerStatus.Paused:
                return (HealthStatus.Degraded, "container is paused");
            case Hosts.ContainerStatus.Created:
                return (HealthStatus.Down, "container created but not started");
            default:
                return (HealthStatus.Down, details is null
                    ? $"container {container.Value.ToString().ToLowerInvariant()}"
                    : ExitReason(details));
        }
    }

    private static (HealthStatus Status, string Reason) FromProbe(ServiceKind kind, bool expectsContainer, ProbeResult probe, string? expectedServedName)
    {
        switch (probe.Outcome)
        {
            case ProbeOutcome.Ok when kind == ServiceKind.VllmLlm && expectedServedName is not null:
                return probe.ServedModels.Contains(expectedServedName, StringComparer.Ordinal)
                    ? (HealthStatus.Healthy, $"serving {expectedServedName}")
                    : (HealthStatus.Degraded, probe.ServedModels.IsEmpty
                        ? $"/v1/models lists no model; expected {expectedServedName}"
                        : $"serving {string.Join(", ", probe.ServedModels)}; expected {expectedServedName}");
            case ProbeOutcome.Ok when kind == ServiceKind.VllmLlm && !probe.ServedModels.IsEmpty:
                return (HealthStatus.Healthy, $"serving {string.Join(", ", probe.ServedModels)}");
            case ProbeOutcome.Ok:
                return (HealthStatus.Healthy, "answering");
            case ProbeOutcome.Refused when expectsContainer:
                // vLLM binds its port only after the engine is built: running + refused = still loading.
                return (HealthStatus.Loading, "container running, port not open yet");
            case ProbeOutcome.Refused:
                return (HealthStatus.Down, "connection refused");
            case ProbeOutcome.HttpError when kind == ServiceKind.Nim && probe.StatusCode == 503 && probe.Live == true:
                return (HealthStatus.Loading, "live, model not ready yet (503)");
            case ProbeOutcome.HttpError when kind == ServiceKind.VllmLlm && probe.StatusCode == 503:
                return (HealthStatus.Down, "engine dead (/health answered 503)");
            case ProbeOutcome.HttpError when probe.StatusCode == 503:
                return (HealthStatus.Loading, "not ready yet (503)");
            case ProbeOutcome.HttpError:
                return (HealthStatus.Degraded, $"health check answered {probe.Detail}");
            case ProbeOutcome.Timeout:
                return (HealthStatus.Degraded, "health check timed out");
            default:
                return (HealthStatus.Degraded, $"health check failed: {probe.Detail}");
        }
    }

    public static string ExitReason(Hosts.ContainerInfo details) =>
        details.OomKilled
            ? $"killed for running out of memory (exit {details.ExitCode}, OOMKilled)"
            : $"container exited with code {details.ExitCode}";
}
