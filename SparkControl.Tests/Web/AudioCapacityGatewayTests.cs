using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Gateway;
using SparkControl.Sim.Audio;
using SparkControl.Sim.Server;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// Per-worker caps, the queue in front of them, and several workers sharing the load: workers of the test's own
/// (gated, or of known capacity) on loopback, added to the demo Spark in services.yaml, requests through the gateway.
/// </summary>
public sealed class AudioCapacityGatewayTests
{
    private static readonly byte[] Wav = TestAudioWorker.SilentWav(0.2);

    private static async Task<SparkControlApp> StartAsync(string servicesYaml, TempDirectory data, Dictionary<string, string?>? settings = null, LogCollector? logs = null)
    {
        await File.WriteAllTextAsync(Path.Combine(data.Path, "services.yaml"), servicesYaml);
        var all = new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty, ["Gateway:AudioQueueLength"] = "4" };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var app = await SparkControlApp.StartAsync(all, data.Path, logs is null ? null : s => s.AddSingleton<ILoggerProvider>(logs));
        var names = servicesYaml.Split('\n').Where(l => l.StartsWith("    name: ", StringComparison.Ordinal)).Select(l => l[10..]).ToArray();
        await TestAudioWorker.WaitHealthyAsync(app, names);
        return app;
    }

    private static Task<HttpResponseMessage> TranscribeAsync(HttpClient client, string prompt) =>
        client.PostAsync("/v1/audio/transcriptions", AudioGatewayTests.Form(("model", "test-asr"), ("prompt", prompt)).WithFile(Wav, "a.wav", "audio/wav"));

    /// <summary>The worker's figures (all zero before its first request).</summary>
    private static AudioWorkerLoad Load(SparkControlApp app, string service) =>
        app.Get<AudioCapacity>().Now().ByWorker.GetValueOrDefault($"demo/{service}") ?? new AudioWorkerLoad("demo", service, 0, 0, 0, 0, 0, 0, null);

    [Fact]
    public async Task CapTwoQueueFour_TheSeventhGets503WithRetryAfter_NoneIsLost_FirstComeFirstServed()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)), data);
        using var client = app.CreateClient();

        // One at a time into the gateway, each seen in place before the next, so that arrival order is known.
        var sent = new List<Task<HttpResponseMessage>>();
        for (var i = 1; i <= 6; i++)
        {
            sent.Add(TranscribeAsync(client, $"r{i}"));
            var expected = i;
            await Wait.UntilAsync(() => gate.Arrived.Count + Load(app, "gated").Queued == expected, $"request {i} is at the worker or in the queue");
        }

        using var seventh = await TranscribeAsync(client, "r7");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, seventh.StatusCode);
        Assert.True(seventh.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After {seventh.Headers.RetryAfter}");
        Assert.Equal("overloaded", (await AudioGatewayTests.ErrorAsync(seventh)).Code);
        Assert.Equal(2, gate.Arrived.Count);
        Assert.Equal(4, Load(app, "gated").Queued);
        Assert.Equal(1, Load(app, "gated").Rejected);

        // One slot at a time: each request that finishes lets exactly the queue's head through.
        for (var opened = 1; opened <= 4; opened++)
        {
            gate.Open();
            var expected = opened + 2;
            await Wait.UntilAsync(() => gate.Arrived.Count == expected, $"the queue's head reaches the worker after {opened} finished");
        }

        gate.Open(2);
        var answers = await Task.WhenAll(sent);
        var texts = await Task.WhenAll(answers.Select(async a => (a.StatusCode, JsonDocument.Parse(await a.Content.ReadAsStringAsync()).RootElement.GetProperty("text").GetString())));

        Assert.Equal([.. Enumerable.Range(1, 6).Select(i => (HttpStatusCode.OK, (string?)$"r{i}"))], texts);
        Assert.Equal([.. Enumerable.Range(1, 6).Select(i => $"r{i}")], gate.Arrived);
        // A request's duration is recorded as its response ends, which can be just after the client has read it.
        var metrics = string.Empty;
        await Wait.UntilAsync(
            async () => System.Text.RegularExpressions.Regex.IsMatch(metrics = await client.GetStringAsync("/metrics"), "sparkcontrol_audio_request_duration_seconds_count\\{[^}]*service=\"gated\"[^}]*\\} 6"),
            "the sixth request's duration is in /metrics",
            describe: () => Task.FromResult(string.Join(" | ", metrics.Split('\n').Where(l => l.StartsWith("sparkcontrol_audio_request_duration_seconds_count", StringComparison.Ordinal)))));
        var check = await ProcessRunner.RunAsync(Tools.Promtool, ["check", "metrics"], TimeSpan.FromSeconds(30), stdin: metrics);
        Assert.True(check.ExitCode == 0, $"promtool: {check.Stdout}{check.Stderr}");
        Assert.Matches("sparkcontrol_audio_rejected_total\\{[^}]*service=\"gated\"[^}]*\\} 1", metrics);
        Assert.Matches("sparkcontrol_audio_in_flight\\{[^}]*service=\"gated\"[^}]*\\} 0", metrics);
        Assert.Matches("sparkcontrol_audio_queued\\{[^}]*service=\"gated\"[^}]*\\} 0", metrics);
        Assert.Matches("sparkcontrol_audio_request_duration_seconds_count\\{[^}]*service=\"gated\"[^}]*\\} 6", metrics);
    }

    [Fact]
    public async Task TwoWorkers_ShareEightConcurrentRequests_WithinOneOfEvenly()
    {
        using var data = new TempDirectory("sc-data");
        await using var first = new TestAudioWorker(new SlotTranscriber(2, TimeSpan.FromMilliseconds(300)));
        await using var second = new TestAudioWorker(new SlotTranscriber(2, TimeSpan.FromMilliseconds(300)));
        await using var app = await StartAsync(TestAudioWorker.ServicesYaml(("asr-a", first.Port, 2), ("asr-b", second.Port, 2)), data);
        using var client = app.CreateClient();

        var answers = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => TranscribeAsync(client, $"r{i}")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        var (a, b) = (Load(app, "asr-a").Served, Load(app, "asr-b").Served);
        Assert.Equal(8, a + b);
        Assert.True(Math.Abs(a - b) <= 1, $"asr-a served {a}, asr-b {b}");
    }

    /// <summary>
    /// The worker goes down holding both its slots, so nothing is on its way to it: a request that reached a closing
    /// listener's queue would be lost to the worker unseen, and the gateway, which cannot tell that from a worker that
    /// processed it, answers 502 by design (never sent twice). What it holds it finishes; what comes after finds the
    /// connection refused and goes to the other worker.
    /// </summary>
    [Fact]
    public async Task AWorkerTakenDownMidRun_FinishesWhatItHolds_GetsNoNewRequests_AndTheRunCompletes()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        var down = new CountingTranscriber(gate);
        var stays = new CountingTranscriber(new SlotTranscriber(2, TimeSpan.FromMilliseconds(200)));
        await using var first = new TestAudioWorker(down);
        await using var second = new TestAudioWorker(stays);
        var logs = new LogCollector();
        // The queue is per worker: once the first is down, the second's 2 slots and its places hold the 22 requests left.
        // With 16 places, whether 4 of them were 503s for the queue (not for the worker going down) depended on how many
        // arrived before the first answers, that is on the machine's load: a busy CI run got one. 24 places hold them all.
        await using var app = await StartAsync(TestAudioWorker.ServicesYaml(("asr-a", first.Port, 2), ("asr-b", second.Port, 2)), data,
            new() { ["Gateway:AudioQueueLength"] = "24" }, logs);
        using var client = app.CreateClient();

        var run = Enumerable.Range(1, 24).Select(i => TranscribeAsync(client, $"r{i}")).ToList();
        await Wait.UntilAsync(() => gate.Waiting == 2, "the first worker holds two requests of the run");
        var stopping = first.StopAsync();
        await Wait.UntilAsync(async () => !await Tools.AcceptsConnectionsAsync(first.Port), "the first worker no longer accepts connections");
        gate.Open(100);
        await stopping;
        var answers = await Task.WhenAll(run);

        var refusals = await Task.WhenAll(answers.Where(a => a.StatusCode != HttpStatusCode.OK).Select(a => a.Content.ReadAsStringAsync()));
        Assert.True(answers.All(a => a.StatusCode == HttpStatusCode.OK),
            $"{string.Join(", ", answers.Select(a => (int)a.StatusCode))}; {string.Join(" | ", refusals)}; {string.Join(" | ", logs.Messages.Where(m => m.Contains("audio worker", StringComparison.Ordinal)))}");
        Assert.Equal((2, 2), (down.Started, down.Finished));
        Assert.Equal(22, stays.Finished);
    }

    [Fact]
    public async Task AnUploadOverTheCap_Gets413_BeforeTheWorkerSeesAByte_AndNothingStaysOnDisk()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        gate.Open(100);
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)), data, new() { ["Gateway:MaxTranscriptionBytes"] = "65536" });
        using var client = app.CreateClient();
        var big = TestAudioWorker.SilentWav(3);

        using var declared = await client.PostAsync("/v1/audio/transcriptions", AudioGatewayTests.Form(("model", "test-asr")).WithFile(big, "big.wav", "audio/wav"));
        var chunkedForm = AudioGatewayTests.Form(("model", "test-asr")).WithFile(big, "big.wav", "audio/wav");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/audio/transcriptions") { Content = new ChunkedContent(chunkedForm) };
        using var chunked = await client.SendAsync(chunkedRequest);
        using var small = await TranscribeAsync(client, "fits");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("request_too_large", (await AudioGatewayTests.ErrorAsync(declared)).Code);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(["fits"], gate.Arrived);
        Assert.Empty(Directory.EnumerateFiles(app.Get<SparkControl.Web.Gateway.AudioForwarder>().SpoolDirectory));
    }

    [Fact]
    public async Task AudioRequests_CountAgainstTheGatewaysMaxInFlight_WithChat()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await using var app = await StartAsync(TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)), data, new() { ["Gateway:MaxInFlight"] = "1" });
        using var client = app.CreateClient();

        var held = TranscribeAsync(client, "held");
        await Wait.UntilAsync(() => gate.Waiting == 1, "the first request is at the worker");
        using var second = await TranscribeAsync(client, "second");
        using var speech = await client.PostAsync("/v1/audio/speech", new StringContent("""{"model":"tts-1","input":"hi","voice":"af_heart","response_format":"wav"}""", System.Text.Encoding.UTF8, "application/json"));
        gate.Open();
        using var first = await held;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal("overloaded", (await AudioGatewayTests.ErrorAsync(second)).Code);
        Assert.Contains("Gateway:MaxInFlight", (await AudioGatewayTests.ErrorAsync(speech)).Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), second.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(["held"], gate.Arrived);
    }

    [Fact]
    public async Task UploadsACrashLeftInTheSpool_AreRemovedAtStartup()
    {
        using var data = new TempDirectory("sc-data");
        Directory.CreateDirectory(Path.Combine(data.Path, "spool"));
        var leftover = Path.Combine(data.Path, "spool", "0123456789abcdef.upload");
        await File.WriteAllBytesAsync(leftover, TestAudioWorker.SilentWav(1));

        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty }, data.Path);

        Assert.False(File.Exists(leftover));
        Assert.True(app.Get<SparkControl.Web.Gateway.AudioForwarder>().SpoolCleared);
    }

    /// <summary>A form sent without Content-Length (chunked), as a client streaming a recording sends it.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly HttpContent _inner;

        public ChunkedContent(HttpContent inner)
        {
            _inner = inner;
            Headers.ContentType = inner.Headers.ContentType;
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream, context);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            _inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Counts the requests that reach a worker and those it finished.</summary>
    private sealed class CountingTranscriber(ISimTranscriber inner) : ISimTranscriber
    {
        private int _started;
        private int _finished;

        public int Started => Volatile.Read(ref _started);

        public int Finished => Volatile.Read(ref _finished);

        public async Task<SimTranscript> TranscribeAsync(string audioPath, string? prompt, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            var result = await inner.TranscribeAsync(audioPath, prompt, cancellationToken);
            Interlocked.Increment(ref _finished);
            return result;
        }
    }
}
