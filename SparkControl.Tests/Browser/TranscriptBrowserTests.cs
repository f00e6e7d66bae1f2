using SparkControl.Core.Services;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>
/// A call uploaded on the Transcripts page: its phases live on its page and in a second browser's list, the transcript
/// with speakers when done, and the SRT download.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class TranscriptBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task UploadACall_WatchItsPhasesInTwoBrowsers_OpenTheTranscript_DownloadSrt()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        await using var worker = new TestAudioWorker(gate);
        await File.WriteAllTextAsync(Path.Combine(data.Path, ServicesYaml.FileName), TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)));
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?>
        {
            ["Demo:InitialModel"] = string.Empty,
            ["Transcripts:Model"] = "test-asr",
            ["Transcripts:ChunkLength"] = "00:00:30",
        }, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        var call = Path.Combine(data.Path, "interview.wav");
        await File.WriteAllBytesAsync(call, SparkControl.Core.Audio.Signal.WavFile.Write16(16_000, new float[16_000 * 70], new float[16_000 * 70]));

        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/transcripts");
        await page.GetByTestId("transcript-speakers").FillAsync("Agent, Customer");
        await page.GetByTestId("transcript-speakers").PressAsync("Tab");
        // The names reach the server in the field's change event, whose handler may still be running when the next event
        // (the upload, the start) arrives: wait for the page to show what it received.
        await Expect(page.GetByTestId("transcript-speaker-names")).ToHaveTextAsync("Speakers: local: Agent, remote: Customer");
        await page.GetByTestId("transcript-file").Locator("input[type=file]").SetBlazorInputFilesAsync(call);
        await Expect(page.GetByTestId("transcript-file")).ToContainTextAsync("interview.wav");
        await page.SaveScreenshotAsync("transcript-upload.png");
        await page.GetByTestId("transcript-start").ClickAsync();

        await page.WaitForURLAsync(url => url.Contains("/transcripts/", StringComparison.Ordinal), new() { Timeout = 60_000 });
        await Expect(page.GetByTestId("transcript-status")).ToHaveTextAsync("transcribing", new() { Timeout = 60_000 });
        await Expect(page.GetByTestId("transcript-progress")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("transcript-detail")).ToContainTextAsync("piece(s) transcribed");
        var other = await NewPageAsync(app.BaseAddress);
        await other.GotoAsync("/transcripts");
        var row = other.GetByTestId("transcript-jobs").Locator("tr", new() { HasText = "interview.wav" });
        await Expect(row.GetByTestId("transcript-status")).ToHaveTextAsync("transcribing");
        await page.SaveScreenshotAsync("transcript-running.png");

        gate.Open(100);
        await Expect(page.GetByTestId("transcript-status")).ToHaveTextAsync("done", new() { Timeout = 60_000 });
        await Expect(row.GetByTestId("transcript-status")).ToHaveTextAsync("done");
        await Expect(page.GetByTestId("utterance-speaker").First).ToHaveTextAsync("Customer");
        await Expect(page.GetByTestId("transcript-note").First).ToContainTextAsync("No echo of the remote side was found");
        await page.SaveScreenshotAsync("transcript-done.png");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("download-srt").ClickAsync());
        var srt = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.EndsWith(".srt", download.SuggestedFilename, StringComparison.Ordinal);
        Assert.Contains("Customer", srt, StringComparison.Ordinal);
        Assert.Contains("00:00:00,000 --> ", srt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScrubPage_RedactsPastedText_KeepsTheNamesList_AndAJobsTranscriptIsScrubbedFromItsPage()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        gate.Open(10);
        await using var worker = new TestAudioWorker(gate);
        await File.WriteAllTextAsync(Path.Combine(data.Path, ServicesYaml.FileName), TestAudioWorker.ServicesYaml(("gated", worker.Port, 1)));
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Demo:InitialModel"] = string.Empty, ["Transcripts:Model"] = "test-asr" }, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/scrub");
        // The gated worker hears "done" in every call: as a name on the list, it is what the job's transcript loses.
        await page.GetByTestId("scrub-names").FillAsync("Ingrid Svensson\ndone");
        await page.GetByTestId("scrub-names-save").ClickAsync();
        await Expect(page.GetByTestId("scrub-names-note")).ToHaveTextAsync("Saved 2 name(s).");
        await page.GetByTestId("scrub-input").FillAsync("Call Ingrid Svensson on +44 20 7946 0958 or mail <b>ingrid@example.se</b>");
        await page.GetByTestId("scrub-input").PressAsync("Tab");
        await page.GetByTestId("scrub-start").ClickAsync();
        await Expect(page.GetByTestId("scrub-output")).ToHaveTextAsync("Call [NAME] on [PHONE] or mail <b>[EMAIL]</b>");
        await Expect(page.GetByTestId("scrub-counts")).ToContainTextAsync("EMAIL: 1");
        await page.SaveScreenshotAsync("scrub-text.png");

        var call = Path.Combine(data.Path, "short.wav");
        await File.WriteAllBytesAsync(call, TestAudioWorker.SilentWav(2));
        await page.GotoAsync("/transcripts");
        await page.GetByTestId("transcript-file").Locator("input[type=file]").SetBlazorInputFilesAsync(call);
        await page.GetByTestId("transcript-start").ClickAsync();
        await Expect(page.GetByTestId("transcript-status")).ToHaveTextAsync("done", new() { Timeout = 60_000 });
        await page.GetByTestId("transcript-keep-original").ClickAsync();
        await page.GetByTestId("transcript-scrub").ClickAsync();
        await Expect(page.GetByTestId("confirm-dialog")).ToContainTextAsync("cannot be recovered");
        await page.GetByTestId("confirm-ok").ClickAsync();

        await Expect(page.GetByTestId("scrub-counts")).ToContainTextAsync("NAME: 1", new() { Timeout = 30_000 });
        await page.GoBackAsync();
        await Expect(page.GetByTestId("transcript-scrubbed")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("utterance-text").First).ToHaveTextAsync("[NAME]");
    }
}
