using System.Net;
using System.Text.Json;
using SparkControl.Core.Operations;
using SparkControl.Core.Secrets;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Operations;

/// <summary>Alert delivery to a real receiver on loopback: formats, retries, give-ups, and the address kept secret.</summary>
public sealed class AlertDeliveryTests : IAsyncLifetime
{
    private static readonly Alert Down = new(AlertKind.ServiceDown, "service-down:spark-1/asr", true, "spark-1", "spark-1/asr is down", "spark-1/asr is down: container exited (137).", new DateTimeOffset(2026, 12, 3, 3, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new("sc-alerts");
    private readonly LogCollector _logs = new();
    private WebhookReceiver _receiver = null!;
    private SecretStore _secrets = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _secrets = new SecretStore(new SparkControl.Core.Storage.DataDirectory(_data.Path), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _data.Dispose();
    }

    private AlertDelivery Delivery(int attempts = 3) => new(
        _secrets,
        new SparkControl.Tests.Core.StaticOptionsMonitor<OperationsOptions>(new OperationsOptions { AlertAttempts = attempts, AlertRetryDelay = TimeSpan.FromMilliseconds(20), AlertTimeout = TimeSpan.FromSeconds(20) }),
        () => new HttpClient(),
        TimeProvider.System,
        new Microsoft.Extensions.Logging.Logger<AlertDelivery>(new Microsoft.Extensions.Logging.LoggerFactory([_logs])));

    private async Task<AlertTarget> TargetAsync(AlertFormat format, string path = "/hook?token=s3cr3t-topic")
    {
        var target = new AlertTarget { Name = "pager", Format = format };
        await _secrets.SetAsync(AlertTarget.SecretName(target.Name), _receiver.Url(path), CancellationToken.None);
        return target;
    }

    [Fact]
    public async Task AReceiverThatAnswers500_GetsTheAlertAgain_AndTheSecondTryCounts()
    {
        var target = await TargetAsync(AlertFormat.Json);
        _receiver.AnswerNext(HttpStatusCode.InternalServerError);

        var record = await Delivery().SendAsync(target, Down, CancellationToken.None);

        Assert.True(record.Delivered);
        Assert.Equal(2, record.Attempts);
        Assert.Equal([HttpStatusCode.InternalServerError, HttpStatusCode.OK], _receiver.Requests.Select(r => r.Answered));
        Assert.Equal(_receiver.Requests[0].Body, _receiver.Requests[1].Body);
    }

    [Fact]
    public async Task A400IsNotRetried_AndGivingUpSaysHowItEnded()
    {
        var target = await TargetAsync(AlertFormat.Json);
        _receiver.AnswerNext(HttpStatusCode.BadRequest);
        var rejected = await Delivery().SendAsync(target, Down, CancellationToken.None);
        _receiver.AnswerNext(HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable);
        var unavailable = await Delivery(attempts: 3).SendAsync(target, Down, CancellationToken.None);

        Assert.False(rejected.Delivered);
        Assert.Equal(1, rejected.Attempts);
        Assert.Equal("answered 400 Bad Request", rejected.Outcome);
        Assert.False(unavailable.Delivered);
        Assert.Equal(3, unavailable.Attempts);
        Assert.Equal(4, _receiver.Requests.Count);
    }

    [Fact]
    public async Task AReceiverThatIsNotThere_IsRetried_ThenReportedNotReached_WithoutTheAddressInTheLog()
    {
        var target = new AlertTarget { Name = "gone" };
        var closed = Tools.FreePort();
        await _secrets.SetAsync(AlertTarget.SecretName("gone"), $"http://127.0.0.1:{closed}/hook/s3cr3t-topic", CancellationToken.None);

        var record = await Delivery(attempts: 2).SendAsync(target, Down, CancellationToken.None);

        Assert.False(record.Delivered);
        Assert.Equal(2, record.Attempts);
        Assert.StartsWith("not reached:", record.Outcome, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", record.Outcome, StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Messages, m => m.Contains("s3cr3t", StringComparison.Ordinal));
        Assert.Contains(_logs.Messages, m => m.Contains("gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWebhookWithoutItsAddress_SaysWhichSecretToSet()
    {
        var record = await Delivery().SendAsync(new AlertTarget { Name = "unset" }, Down, CancellationToken.None);

        Assert.False(record.Delivered);
        Assert.Equal(0, record.Attempts);
        Assert.Contains("alert-webhook-unset", record.Outcome, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_CarriesEveryField()
    {
        await Delivery().SendAsync(await TargetAsync(AlertFormat.Json), Down, CancellationToken.None);
        var received = Assert.Single(_receiver.Requests);
        var body = JsonDocument.Parse(received.Body).RootElement;

        Assert.Equal("/hook?token=s3cr3t-topic", received.Path);
        Assert.StartsWith("application/json", received.ContentType, StringComparison.Ordinal);
        Assert.Equal("service-down", body.GetProperty("kind").GetString());
        Assert.Equal("firing", body.GetProperty("state").GetString());
        Assert.Equal("service-down:spark-1/asr", body.GetProperty("key").GetString());
        Assert.Equal("spark-1", body.GetProperty("spark").GetString());
        Assert.Equal(Down.Message, body.GetProperty("message").GetString());
        Assert.Equal(Down.At, body.GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Ntfy_IsPlainTextWithATitleHeader_ThatNeverBreaksOnCharactersOutsideLatin1()
    {
        var alert = Down with { Title = "spark-1/asr is down — again\n" };
        await Delivery().SendAsync(await TargetAsync(AlertFormat.Ntfy), alert, CancellationToken.None);
        var received = Assert.Single(_receiver.Requests);

        Assert.StartsWith("text/plain", received.ContentType, StringComparison.Ordinal);
        Assert.Equal(Down.Message, received.Body);
        Assert.Equal("spark-1/asr is down ? again?", received.Headers["Title"]);
        Assert.Equal("high", received.Headers["Priority"]);
    }

    [Fact]
    public async Task Slack_IsTextInJson_AndAResolvedAlertSaysSo()
    {
        var resolved = Down with { Firing = false, Title = "spark-1/asr is healthy again", Message = "spark-1/asr is healthy again: probe answered." };
        await Delivery().SendAsync(await TargetAsync(AlertFormat.Slack), resolved, CancellationToken.None);
        var body = JsonDocument.Parse(Assert.Single(_receiver.Requests).Body).RootElement;

        Assert.Equal(["text"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("*spark-1/asr is healthy again*\nspark-1/asr is healthy again: probe answered.", body.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Recent_KeepsTheNewestFirst_UpToItsLimit()
    {
        var delivery = Delivery();
        var target = await TargetAsync(AlertFormat.Json);
        for (var i = 0; i < AlertDelivery.Kept + 3; i++)
        {
            await delivery.SendAsync(target, Down with { Title = $"alert {i}" }, CancellationToken.None);
        }

        Assert.Equal(AlertDelivery.Kept, delivery.Recent.Count);
        Assert.Equal($"alert {AlertDelivery.Kept + 2}", delivery.Recent[0].Title);
    }
}
