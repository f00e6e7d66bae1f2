using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using SparkControl.Core.Audio.Echo;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Api;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

public sealed class EchoCancelApiTests
{
    private static MultipartFormDataContent Form(byte[] file, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(content, "file", "call.wav");
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }

    private static async Task<string> ProblemDetailAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task Post_DefaultCall_AnswersCleanedMonoWavWithDelayAndErle()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(call.CallWav, ("passes", "2"), ("tailMs", "256")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        var cleaned = WavFile.Read(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, cleaned.ChannelCount);
        Assert.Equal(16000, cleaned.SampleRate);
        Assert.Equal(call.Mic.Length, cleaned.Length);
        var delay = double.Parse(response.Headers.GetValues(EchoEndpoints.DelayHeader).Single(), CultureInfo.InvariantCulture);
        var erle = double.Parse(response.Headers.GetValues(EchoEndpoints.ErleHeader).Single(), CultureInfo.InvariantCulture);
        Assert.InRange(delay, 115, 125);
        Assert.True(erle > 15, $"ERLE estimate {erle} dB");
        Assert.Equal("true", response.Headers.GetValues(EchoEndpoints.DetectedHeader).Single());
        var score = EchoMetrics.Score(call.Mic, cleaned.Channels[0], call.Truth);
        Assert.True(score.ErleFarEndDb > 15, $"far-end ERLE {score.ErleFarEndDb:0.0} dB");
    }

    [Fact]
    public async Task Post_DriftingCall_ReportsTheDriftItFollowed()
    {
        var call = await EchoTestCalls.GetAsync("drift-60ppm");
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(call.CallWav));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var drift = double.Parse(response.Headers.GetValues(EchoEndpoints.DriftHeader).Single(), CultureInfo.InvariantCulture);
        Assert.InRange(drift, -62, -58);
        // The test rooms ring for 128 ms of the 256 ms tail.
        Assert.InRange(int.Parse(response.Headers.GetValues(EchoEndpoints.RoomHeader).Single(), CultureInfo.InvariantCulture), 128, 176);
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.LoudspeakerCurveHeader).Single());
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.PathChangeHeader).Single());
        var cleaned = WavFile.Read(await response.Content.ReadAsByteArrayAsync());
        var score = EchoMetrics.Score(call.Mic, cleaned.Channels[0], call.Truth);
        Assert.True(score.ErleFarEndDb > 20, $"far-end ERLE {score.ErleFarEndDb:0.0} dB");
    }

    [Fact]
    public async Task Post_EchoPathChangesMidCall_SaysWhere()
    {
        var call = await EchoTestCalls.GetAsync("path-change");
        var change = double.Parse(call.Option("--path-change")!, CultureInfo.InvariantCulture);
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(call.CallWav));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var at = double.Parse(response.Headers.GetValues(EchoEndpoints.PathChangeHeader).Single(), CultureInfo.InvariantCulture);
        Assert.InRange(at, change - 0.5, change + 0.5);
    }

    [Fact]
    public async Task Post_ClippingLoudspeaker_ReportsTheCurveItModelled()
    {
        var call = await EchoTestCalls.GetAsync("clip-hard");
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(call.CallWav));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var curve = double.Parse(response.Headers.GetValues(EchoEndpoints.LoudspeakerCurveHeader).Single(), CultureInfo.InvariantCulture);
        Assert.True(curve >= LoudspeakerCurve.MinimumGainDb, $"curve {curve} dB");
        var cleaned = WavFile.Read(await response.Content.ReadAsByteArrayAsync());
        var score = EchoMetrics.Score(call.Mic, cleaned.Channels[0], call.Truth);
        Assert.True(score.ErleFarEndDb > 15, $"far-end ERLE {score.ErleFarEndDb:0.0} dB");
    }

    [Fact]
    public async Task Post_NoEchoCall_AnswersTheMicrophoneUnchanged()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.NoEcho);
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(call.CallWav, ("passes", "1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("false", response.Headers.GetValues(EchoEndpoints.DetectedHeader).Single());
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.DelayHeader).Single());
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.DriftHeader).Single());
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.LoudspeakerCurveHeader).Single());
        Assert.Equal("0", response.Headers.GetValues(EchoEndpoints.RoomHeader).Single());
        Assert.Equal("0.0", response.Headers.GetValues(EchoEndpoints.PathChangeHeader).Single());
        Assert.Equal("false", response.Headers.GetValues(EchoEndpoints.ResidualSuppressedHeader).Single());
        var cleaned = WavFile.Read(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(call.Mic, cleaned.Channels[0]);
    }

    [Fact]
    public async Task Post_ResidualSuppression_IsOffByDefault_OnWhenAsked_AndTheSettingChangesTheDefault()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        await using var app = await SparkControlApp.StartAsync();
        await using var configuredOn = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Audio:Echo:ResidualSuppression"] = "true" });
        using var client = app.CreateClient();
        using var onClient = configuredOn.CreateClient();

        async Task<(string Suppressed, EchoScore Score)> CancelAsync(HttpClient to, params (string, string)[] fields)
        {
            using var response = await to.PostAsync("/api/audio/echo-cancel", Form(call.CallWav, fields));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var cleaned = WavFile.Read(await response.Content.ReadAsByteArrayAsync());
            return (response.Headers.GetValues(EchoEndpoints.ResidualSuppressedHeader).Single(), EchoMetrics.Score(call.Mic, cleaned.Channels[0], call.Truth));
        }

        var byDefault = await CancelAsync(client);
        // "on" is what an HTML checkbox sends: the same words as the transcript jobs' switches.
        var asked = await CancelAsync(client, ("residualSuppression", "on"));
        var configured = await CancelAsync(onClient);
        var askedOff = await CancelAsync(onClient, ("residualSuppression", "false"));

        Assert.Equal(("false", "true", "true", "false"), (byDefault.Suppressed, asked.Suppressed, configured.Suppressed, askedOff.Suppressed));
        // 27.8 -> 29.6 dB on the default call.
        Assert.True(asked.Score.ErleFarEndDb > byDefault.Score.ErleFarEndDb + 1, $"far-end ERLE with it {asked.Score.ErleFarEndDb:0.0} dB, without {byDefault.Score.ErleFarEndDb:0.0} dB");
        Assert.Equal(asked.Score, configured.Score);
        Assert.Equal(byDefault.Score, askedOff.Score);
    }

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "not a WAV", "hello, this is not audio"u8.ToArray(), "not a WAV file" },
        { "mono", WavFile.Write16(16000, new float[1600]), "has 1 channel; send a stereo call" },
        { "8-bit", EightBitStereo(), "8-bit samples; send 16-bit PCM" },
        { "rate", WavFile.Write16(96000, new float[960], new float[960]), "the sample rate is 96000 Hz" },
        { "empty", WavFile.Write16(16000, [], []), "holds no samples" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task Post_BadFile_Answers400SayingWhy(string what, byte[] file, string expected)
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(file));

        Assert.Contains(expected, await ProblemDetailAsync(response), StringComparison.Ordinal);
        Assert.NotEmpty(what);
    }

    [Theory]
    [InlineData("passes", "3", "passes must be 1 or 2")]
    [InlineData("tailMs", "5000", "tailMs must be a whole number of milliseconds from 16 to 1000")]
    [InlineData("tailMs", "abc", "tailMs must be a whole number")]
    [InlineData("passes", "2\n", "passes must be 1 or 2, not '2\\u000a'")]
    [InlineData("passes", "\t1", "passes must be 1 or 2, not '\\u00091'")]
    [InlineData("tailMs", "256\r\n", "tailMs must be a whole number of milliseconds from 16 to 1000, not '256\\u000d\\u000a'")]
    [InlineData("residualSuppression", "maybe", "residualSuppression must be true or false, not 'maybe'")]
    [InlineData("residualSuppression", "true\n", "residualSuppression must be true or false, not 'true\\u000a'")]
    public async Task Post_BadParameter_Answers400NamingIt(string field, string value, string expected)
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostAsync("/api/audio/echo-cancel", Form(WavFile.Write16(16000, new float[1600], new float[1600]), (field, value)));

        Assert.Contains(expected, await ProblemDetailAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_TooLongOrTooLarge_Answers400WithTheLimit()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?>
        {
            ["Audio:Echo:MaxDuration"] = "00:00:01",
            ["Audio:Echo:MaxUploadBytes"] = "200000",
        });
        using var client = app.CreateClient();

        using var tooLong = await client.PostAsync("/api/audio/echo-cancel", Form(WavFile.Write16(16000, new float[32000], new float[32000])));
        using var tooLarge = await client.PostAsync("/api/audio/echo-cancel", Form(new byte[300_000]));

        Assert.Contains("the call lasts 00:00:02; the limit is 00:00:01", await ProblemDetailAsync(tooLong), StringComparison.Ordinal);
        Assert.Contains("the limit is 200,000 bytes", await ProblemDetailAsync(tooLarge), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_WhileTheQueueIsFull_Answers503WithRetryAfter_ThenServesWhenItEmpties()
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Audio:Echo:MaxQueued"] = "1" });
        using var client = app.CreateClient();
        var queue = app.Get<EchoQueue>();
        var running = queue.Enter(1);
        var waiting = queue.Enter(1);
        var call = WavFile.Write16(16000, new float[1600], new float[1600]);

        using var refused = await client.PostAsync("/api/audio/echo-cancel", Form(call));
        running.Dispose();
        waiting.Dispose();
        using var served = await client.PostAsync("/api/audio/echo-cancel", Form(call));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {refused.Headers.RetryAfter}");
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Contains("Audio:Echo:MaxQueued", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task Post_NotMultipartOrNoFileField_Answers400()
    {
        await using var app = await SparkControlApp.StartAsync();
        using var client = app.CreateClient();

        using var json = await client.PostAsync("/api/audio/echo-cancel", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var noFile = await client.PostAsync("/api/audio/echo-cancel", new MultipartFormDataContent { { new StringContent("2"), "passes" } });

        Assert.Contains("send multipart/form-data", await ProblemDetailAsync(json), StringComparison.Ordinal);
        Assert.Contains("no file", await ProblemDetailAsync(noFile), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Audio:Echo:Passes", "3", "Audio:Echo:Passes must be 1 or 2")]
    [InlineData("Audio:Echo:TailLength", "00:00:05", "Audio:Echo:TailLength must be between")]
    [InlineData("Audio:Echo:MaxUploadBytes", "lots", "Audio:Echo:MaxUploadBytes: 'lots' is not a whole number")]
    public void StartupValidation_BadEchoSetting_NamesTheKey(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        Assert.Contains(expected, SparkControl.Web.Hosting.StartupValidation.Describe(configuration), StringComparison.Ordinal);
    }

    private static byte[] EightBitStereo()
    {
        var file = WavFile.Write16(16000, new float[100], new float[100]);
        file[34] = 8; // bits per sample
        return file;
    }
}
