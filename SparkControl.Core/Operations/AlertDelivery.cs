using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using SparkControl.Core.Secrets;

namespace SparkControl.Core.Operations;

/// <summary>How one alert's delivery to one webhook ended.</summary>
public sealed record AlertDeliveryRecord(string Target, string Title, bool Firing, DateTimeOffset At, int Attempts, bool Delivered, string Outcome);

/// <summary>
/// Sends alerts to webhooks: the address from secrets.yaml, the body in the webhook's format, retried with backoff on
/// a refused connection, a timeout or a 5xx/408/429 answer (never on another 4xx: the same request would fail the
/// same way). Deliveries run beside the rules, so a slow receiver delays nothing else; the last ones are kept for the
/// Settings page. The address is never logged or shown: Slack and ntfy addresses carry their token.
/// </summary>
public sealed partial class AlertDelivery(SecretStore secrets, IOptionsMonitor<OperationsOptions> options, Func<HttpClient> createClient, TimeProvider time, ILogger<AlertDelivery> logger)
{
    public const int Kept = 50;

    private readonly HttpClient _client = createClient();
    private readonly object _gate = new();
    private ImmutableList<AlertDeliveryRecord> _recent = [];

    /// <summary>The latest deliveries, newest first.</summary>
    public IReadOnlyList<AlertDeliveryRecord> Recent
    {
        get { lock (_gate) { return _recent; } }
    }

    public async Task<AlertDeliveryRecord> SendAsync(AlertTarget target, Alert alert, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var attempts = 0;
        string outcome;
        var delivered = false;
        if (secrets.Reveal(AlertTarget.SecretName(target.Name)) is not { } url)
        {
            outcome = $"no address: set the secret {AlertTarget.SecretName(target.Name)} (Settings, Alerts)";
        }
        else
        {
            try
            {
                using var response = await Pipeline(settings).ExecuteAsync(
                    async token =>
                    {
                        attempts++;
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                        timeout.CancelAfter(settings.AlertTimeout);
                        return await _client.SendAsync(Request(target, alert, url), timeout.Token).ConfigureAwait(false);
                    },
                    cancellationToken).ConfigureAwait(false);
                delivered = response.IsSuccessStatusCode;
                outcome = $"answered {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                outcome = ex is OperationCanceledException ? $"no answer within {settings.AlertTimeout.TotalSeconds:0} s" : $"not reached: {ex.GetBaseException().Message}";
            }
        }

        var record = new AlertDeliveryRecord(target.Name, alert.Title, alert.Firing, time.GetUtcNow(), attempts, delivered, outcome);
        lock (_gate)
        {
            _recent = _recent.Insert(0, record);
            if (_recent.Count > Kept)
            {
                _recent = _recent.RemoveAt(Kept);
            }
        }

        LogDelivery(target.Name, alert.Title, attempts, outcome);
        return record;
    }

    /// <summary>The request for one webhook format; every format says the same thing in its receiver's words.</summary>
    public static HttpRequestMessage Request(AlertTarget target, Alert alert, string url)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url);
        switch (target.Format)
        {
            case AlertFormat.Ntfy:
                request.Content = new StringContent(alert.Message, Encoding.UTF8, "text/plain");
                // ntfy reads headers as Latin-1: a name outside it would make the request fail, so it is replaced.
                request.Headers.TryAddWithoutValidation("Title", new string([.. alert.Title.Select(c => c is >= ' ' and <= '~' ? c : '?')]));
                request.Headers.TryAddWithoutValidation("Priority", alert.Firing ? "high" : "default");
                request.Headers.TryAddWithoutValidation("Tags", alert.Firing ? "warning" : "white_check_mark");
                break;
            case AlertFormat.Slack:
                request.Content = JsonContent.Create(new { text = $"*{alert.Title}*\n{alert.Message}" });
                break;
            default:
                request.Content = JsonContent.Create(new
                {
                    kind = alert.Kind.ToYaml(),
                    key = alert.Key,
                    state = alert.Firing ? "firing" : "resolved",
                    spark = alert.Spark,
                    title = alert.Title,
                    message = alert.Message,
                    at = alert.At,
                });
                break;
        }

        return request;
    }

    private ResiliencePipeline<HttpResponseMessage> Pipeline(OperationsOptions settings) => new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = settings.AlertAttempts - 1,
            Delay = settings.AlertRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = false,
            ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                .Handle<HttpRequestException>()
                .Handle<OperationCanceledException>()
                .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests),
            OnRetry = args =>
            {
                args.Outcome.Result?.Dispose();
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert to webhook {Target}: {Title} ({Attempts} attempts, {Outcome})")]
    private partial void LogDelivery(string target, string title, int attempts, string outcome);
}
