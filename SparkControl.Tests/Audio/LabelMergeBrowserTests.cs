using Microsoft.Playwright;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Audio;

[Collection(BrowserCollection.Name)]
public sealed class LabelMergeBrowserTests(BrowserFixture browser)
{
    [Fact]
    public async Task LabelMerge_PasteRecognisedConversationAndRttm_ShowsTheMergedTranscript()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "TestData", "audio", "label-merge");
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/audio");

        await page.GetByTestId("asr-input").FillAsync(await File.ReadAllTextAsync(Path.Combine(fixture, "conversation.words.json")));
        await page.GetByTestId("diarization-input").FillAsync(await File.ReadAllTextAsync(Path.Combine(fixture, "conversation.rttm")));
        await page.GetByTestId("merge").ClickAsync();

        var transcript = page.GetByTestId("merged-transcript");
        await Expect(transcript.GetByTestId("utterance")).ToHaveCountAsync(6);
        await Expect(transcript.GetByTestId("utterance").Nth(0)).ToContainTextAsync("SPEAKER_00");
        await Expect(transcript.GetByTestId("utterance").Nth(0)).ToContainTextAsync("hello how are you today");
        await Expect(transcript.GetByTestId("utterance").Nth(3)).ToHaveAttributeAsync("data-speaker", "SPEAKER_01");
        await Expect(transcript.GetByTestId("utterance").Nth(3)).ToContainTextAsync("we should schedule the meeting for next week");
        await Expect(transcript.GetByTestId("word-low").First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("download-srt")).ToHaveAttributeAsync("download", "transcript.srt");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Tools.ArtifactsDirectory, "audio-label-merge.png"), FullPage = true });
    }
}
