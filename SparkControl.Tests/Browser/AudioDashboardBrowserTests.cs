using SparkControl.Core.Services;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Web;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>An audio worker's card on the Dashboard follows the gateway's load on it live: in flight over cap, queued, latency.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AudioDashboardBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task AWorkersCard_ShowsItsRequestsInFlightAndQueued_AsTheyComeAndGo()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await File.WriteAllTextAsync(Path.Combine(data.Path, ServicesYaml.FileName), TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)));
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty }, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/");
        var load = page.GetByTestId("service-gated").GetByTestId("service-audio-load");
        await Expect(load).ToHaveTextAsync("0/2 in flight · 0 queued");

        using var client = app.CreateClient();
        var wav = TestAudioWorker.SilentWav(0.2);
        var sent = Enumerable.Range(1, 3).Select(i => client.PostAsync("/v1/audio/transcriptions",
            AudioGatewayTests.Form(("model", "test-asr"), ("prompt", $"r{i}")).WithFile(wav, "a.wav", "audio/wav"))).ToList();

        await Expect(load).ToHaveTextAsync("2/2 in flight · 1 queued");
        await page.SaveScreenshotAsync("dashboard-audio-worker.png");
        gate.Open(3);
        await Task.WhenAll(sent);
        await Expect(load).ToContainTextAsync("0/2 in flight · 0 queued · recent ");
    }
}
