using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SparkControl.Tests.Audio.Echo;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Audio;

[Collection(BrowserCollection.Name)]
public sealed class LabelMergeBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task LabelMerge_PasteRecognisedConversationAndRttm_ShowsTheMergedTranscript()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "TestData", "audio", "label-merge");
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
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
        await page.SaveScreenshotAsync("audio-label-merge.png");
    }

    [Fact]
    public async Task LabelMerge_UploadBothChannelsOfAnEchoCall_ShowsTheCallAndTheEchoWordsRemoved()
    {
        using var files = new TempDirectory("sc-call");
        await File.WriteAllTextAsync(files.File("ch0.json"), RecipeCallTranscripts.VerboseJson(0));
        await File.WriteAllTextAsync(files.File("ch1.json"), RecipeCallTranscripts.VerboseJson(1));
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/audio");

        // The call mode renders the channel-1 file input.
        await page.GetByTestId("mode-call").ClickAsync();
        await Expect(page.GetByTestId("remote-asr-input")).ToBeVisibleAsync();
        await page.GetByTestId("asr-file").Locator("input[type=file]").SetBlazorInputFilesAsync(files.File("ch0.json"));
        await page.GetByTestId("remote-asr-file").Locator("input[type=file]").SetBlazorInputFilesAsync(files.File("ch1.json"));
        await Expect(page.GetByTestId("asr-input")).ToHaveValueAsync(RecipeCallTranscripts.VerboseJson(0));
        await Expect(page.GetByTestId("remote-asr-input")).ToHaveValueAsync(RecipeCallTranscripts.VerboseJson(1));
        await page.GetByTestId("merge").ClickAsync();

        var local = page.Locator("[data-testid=utterance][data-channel='0']");
        await Expect(local).ToHaveCountAsync(RecipeCallTranscripts.RecognisedLocalSentences.Count);
        await Expect(local.First).ToContainTextAsync(RecipeCallTranscripts.RecognisedLocalSentences[0]);
        var echoWords = page.GetByTestId("echo-word");
        var leaked = string.Join(' ', RecipeCallTranscripts.LeakedRemoteSentences).Split(' ');
        await Expect(echoWords).ToHaveCountAsync(leaked.Length);
        await Expect(echoWords.GetByTestId("echo-word-text")).ToHaveTextAsync(leaked);
        await Expect(echoWords.First.GetByTestId("echo-word-source")).ToContainTextAsync(leaked[0]);
        await Expect(echoWords.First.GetByTestId("echo-word-delay")).ToHaveTextAsync(new Regex(@"^\d+ ms$"));
        await Expect(page.GetByTestId("echo-summary")).ToContainTextAsync($"{leaked.Length} channel-0 words removed");
        await page.SaveScreenshotAsync("audio-label-merge-call.png");

        // Off: the same call keeps the leaked words on channel 0.
        await page.GetByTestId("remove-echo").UncheckAsync();
        await page.GetByTestId("merge").ClickAsync();
        await Expect(page.GetByTestId("echo-summary")).ToHaveTextAsync("Off: channel 0 is kept as recognised.");
        await Expect(echoWords).ToHaveCountAsync(0);
        await Expect(local.First).ToContainTextAsync(RecipeCallTranscripts.LeakedRemoteSentences[0]);
    }
}
