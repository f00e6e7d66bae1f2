using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// The health feed as outside tools use it, against the running demo: a SignalR client on <c>/hubs/health</c> and curl
/// on <c>GET /api/events</c> see a service go Down and come back, and curl reconnecting with <c>Last-Event-ID</c> gets
/// exactly the events it missed.
/// </summary>
public sealed class HealthFeedTests : IAsyncLifetime
{
    private const string Service = "embeddings";
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Operations:EventKeepAlive"] = "00:00:00.500" });
        _client = _app.CreateClient();
        await WaitStatusAsync("Healthy");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    private async Task WaitStatusAsync(string status) =>
        await Wait.UntilAsync(async () =>
        {
            var services = await _client.GetFromJsonAsync<JsonElement[]>("/api/services");
            return services!.Any(s => s.GetProperty("name").GetString() == Service && s.GetProperty("status").GetString() == status);
        }, $"demo/{Service} is {status}", TimeSpan.FromSeconds(60));

    private async Task ActAsync(string action)
    {
        using var response = await _client.PostAsync($"/api/services/demo/{Service}/{action}", null);
        response.EnsureSuccessStatusCode();
    }

    private static bool Is(JsonElement service, string status) =>
        service.GetProperty("spark").GetString() == "demo" && service.GetProperty("name").GetString() == Service && service.GetProperty("status").GetString() == status;

    [Fact]
    public async Task Hub_SendsTheBoardFirst_ThenTheServiceGoingDownAndHealthyAgain()
    {
        await using var hub = new HubConnectionBuilder().WithUrl(new Uri(_app.BaseAddress, "/hubs/health")).Build();
        await hub.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var boards = Channel.CreateUnbounded<JsonElement[]>();
        var watching = Task.Run(async () =>
        {
            await foreach (var board in hub.StreamAsync<JsonElement[]>("Watch", cts.Token))
            {
                await boards.Writer.WriteAsync(board, cts.Token);
            }
        }, cts.Token);

        var first = await boards.Reader.ReadAsync(cts.Token);
        var listed = await _client.GetFromJsonAsync<JsonElement[]>("/api/services");
        await ActAsync("stop");
        await ReadUntilAsync(boards.Reader, b => b.Any(s => Is(s, "Down")), cts.Token);
        await ActAsync("start");
        await ReadUntilAsync(boards.Reader, b => b.Any(s => Is(s, "Healthy")), cts.Token);
        await cts.CancelAsync();
        await Task.WhenAny(watching);

        // The first message is the board GET /api/services lists: the same services, in the same order.
        Assert.Equal(
            listed!.Select(s => $"{s.GetProperty("spark")}/{s.GetProperty("name")}"),
            first.Select(s => $"{s.GetProperty("spark")}/{s.GetProperty("name")}"));
        Assert.Contains(first, s => Is(s, "Healthy"));
    }

    private static async Task ReadUntilAsync(ChannelReader<JsonElement[]> reader, Func<JsonElement[], bool> done, CancellationToken cancellationToken)
    {
        while (!done(await reader.ReadAsync(cancellationToken)))
        {
        }
    }

    [Fact]
    public async Task Curl_SeesDownAndHealthy_AndAReconnectWithLastEventIdMissesNothing()
    {
        long lastSeen;
        await using (var curl = Curl.Start(new Uri(_app.BaseAddress, "/api/events")))
        {
            // Current state first: every service, each as a health event.
            var initial = await curl.ReadUntilAsync(e => e.Event == "health" && Is(e.Data, "Healthy"));
            await ActAsync("stop");
            var down = await curl.ReadUntilAsync(e => e.Event == "health" && Is(e.Data, "Down"));
            lastSeen = down[^1].Id;
            // A keep-alive comment may come between events on a slow machine; every event has an id.
            Assert.All(initial.Concat(down).Where(e => e.Event != "comment"), e => Assert.True(e.Id > 0));
        }

        // Away while the service comes back: the events it missed are waiting for it.
        await ActAsync("start");
        await WaitStatusAsync("Healthy");
        await using var again = Curl.Start(new Uri(_app.BaseAddress, "/api/events"), ("Last-Event-ID", lastSeen.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var missed = await again.ReadUntilAsync(e => e.Event == "health" && Is(e.Data, "Healthy"));

        // Replayed in order from the very next id: nothing skipped, nothing sent twice, no current-state dump.
        Assert.Equal(Enumerable.Range(1, missed.Count).Select(i => lastSeen + i), missed.Select(e => e.Id));
    }

    [Fact]
    public async Task Curl_AnIdleStreamGetsKeepAliveComments_AndAnUnknownLastEventIdGetsTheCurrentState()
    {
        await using var curl = Curl.Start(new Uri(_app.BaseAddress, "/api/events"), ("Last-Event-ID", "not-a-number"));
        var initial = await curl.ReadUntilAsync(e => e.Event == "health" && Is(e.Data, "Healthy"));
        await curl.ReadUntilAsync(e => e.Event == "comment" && e.Raw == ": keep-alive");

        Assert.Contains(initial, e => e.Event == "health" && Is(e.Data, "Healthy"));
    }

    [Fact]
    public async Task Events_AreAnUncachedEventStream()
    {
        using var response = await _client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
    }

    /// <summary>One Server-Sent Event as curl printed it (a comment has Event "comment" and its line as Raw).</summary>
    private sealed record SseEvent(long Id, string Event, JsonElement Data, string Raw);

    /// <summary>curl -N on the event stream, its output read line by line into events.</summary>
    private sealed class Curl : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
        private readonly Task _reading;

        private Curl(Process process)
        {
            _process = process;
            _reading = Task.Run(ReadAsync);
        }

        public static Curl Start(Uri url, params (string Name, string Value)[] headers)
        {
            var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { "--silent", "--show-error", "--no-buffer", "--max-time", "120" })
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var (name, value) in headers)
            {
                info.ArgumentList.Add("-H");
                info.ArgumentList.Add($"{name}: {value}");
            }

            info.ArgumentList.Add(url.ToString());
            return new Curl(Process.Start(info)!);
        }

        public async Task<List<SseEvent>> ReadUntilAsync(Func<SseEvent, bool> done)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var seen = new List<SseEvent>();
            try
            {
                while (true)
                {
                    var item = await _events.Reader.ReadAsync(cts.Token);
                    seen.Add(item);
                    if (done(item))
                    {
                        return seen;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                throw new TimeoutException($"curl's stream ended or went quiet before the awaited event; it sent: {string.Join(" | ", seen.Select(s => s.Raw))}", e);
            }
        }

        private async Task ReadAsync()
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith(':'))
                {
                    await _events.Writer.WriteAsync(new SseEvent(0, "comment", default, line));
                }
                else if (line.Length == 0 && fields.Count > 0)
                {
                    var raw = string.Join('\n', fields.Select(f => $"{f.Key}: {f.Value}"));
                    await _events.Writer.WriteAsync(new SseEvent(long.Parse(fields["id"], System.Globalization.CultureInfo.InvariantCulture), fields["event"], JsonDocument.Parse(fields["data"]).RootElement, raw));
                    fields.Clear();
                }
                else if (line.Split(": ", 2) is [var name, var value])
                {
                    fields[name] = value;
                }
            }

            _events.Writer.TryComplete();
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            await _reading;
            _process.Dispose();
        }
    }
}
