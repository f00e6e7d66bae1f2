using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Tests.Audio.Echo;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Audio;

/// <summary>The two-channel call mode of the label-merge panel, on the recipe's call as pocketsphinx heard it.</summary>
public sealed class LabelMergeCallPanelTests : UiTestContext
{
    public LabelMergeCallPanelTests() => Services.AddSingleton(Options.Create(new AudioOptions()));

    private async Task<IRenderedComponent<LabelMergePanel>> RenderCallModeAsync()
    {
        var panel = Render<LabelMergePanel>();
        await panel.ClickAsync("[data-testid=mode-call]");
        return panel;
    }

    private static Task TypeAsync(IRenderedComponent<LabelMergePanel> panel, string testId, string text) =>
        panel.ChangeAsync($"textarea[data-testid={testId}]", text);

    private static async Task PasteRecipeCallAsync(IRenderedComponent<LabelMergePanel> panel)
    {
        await TypeAsync(panel, "asr-input", RecipeCallTranscripts.VerboseJson(0));
        await TypeAsync(panel, "remote-asr-input", RecipeCallTranscripts.VerboseJson(1));
    }

    private static List<string> ChannelText(IRenderedComponent<LabelMergePanel> panel, int channel) =>
        [.. panel.FindAll($"[data-testid=utterance][data-channel=\"{channel}\"] .lm-text").Select(u => string.Join(' ', u.QuerySelectorAll("[data-testid^=word]").Select(w => w.TextContent)))];

    [Fact]
    public async Task Merge_CallWithEchoRemoval_LocalSentencesKeptAndEchoWordsListed()
    {
        var panel = await RenderCallModeAsync();
        await PasteRecipeCallAsync(panel);

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal(RecipeCallTranscripts.RecognisedLocalSentences, ChannelText(panel, 0));
        Assert.Equal(RecipeCallTranscripts.Truth.Where(s => s.Channel == 1).Select(s => s.Text), ChannelText(panel, 1));
        Assert.Equal(["Local", "Remote"], panel.FindAll("[data-testid=utterance]").Select(u => u.GetAttribute("data-speaker")).Distinct().Order());

        var rows = panel.FindAll("[data-testid=echo-word]");
        Assert.Equal(string.Join(' ', RecipeCallTranscripts.LeakedRemoteSentences), string.Join(' ', rows.Select(r => r.QuerySelector("[data-testid=echo-word-text]")!.TextContent)));
        Assert.All(rows, r =>
        {
            Assert.StartsWith(r.QuerySelector("[data-testid=echo-word-text]")!.TextContent + " at ", r.QuerySelector("[data-testid=echo-word-source]")!.TextContent, StringComparison.Ordinal);
            Assert.Matches(@"^\d{1,3} ms$", r.QuerySelector("[data-testid=echo-word-delay]")!.TextContent);
        });
        Assert.Matches(@"^Echo delay \d+ ms, voted by \d+ matching words; 8 channel-0 words removed\.$", panel.Find("[data-testid=echo-summary]").TextContent);
        Assert.Contains("words on channel 0 and 16 on channel 1 from verbose_json and verbose_json, channel-1 speakers from no diarization", panel.Find("[data-testid=merge-summary]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_CallWithEchoRemovalOff_LeakedWordsStayAndTheReportSaysOff()
    {
        var panel = await RenderCallModeAsync();
        await PasteRecipeCallAsync(panel);

        await panel.ChangeAsync("input[data-testid=remove-echo]", false);
        await panel.ClickAsync("[data-testid=merge]");

        var channel0 = string.Join(' ', ChannelText(panel, 0));
        Assert.All(RecipeCallTranscripts.LeakedRemoteSentences, s => Assert.Contains(s, channel0, StringComparison.Ordinal));
        Assert.Empty(panel.FindAll("[data-testid=echo-word]"));
        Assert.Equal("Off: channel 0 is kept as recognised.", panel.Find("[data-testid=echo-summary]").TextContent);
    }

    [Fact]
    public async Task Merge_CallWithoutEcho_SaysNoEchoFound()
    {
        var panel = await RenderCallModeAsync();
        await TypeAsync(panel, "asr-input", """[{"word":"please","start":3.0,"end":3.4},{"word":"send","start":3.5,"end":3.8}]""");
        await TypeAsync(panel, "remote-asr-input", """[{"word":"hello","start":0.5,"end":0.8}]""");

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal("No echo of channel 1 found on channel 0: 0 words matched at one delay, 3 needed.", panel.Find("[data-testid=echo-summary]").TextContent);
        Assert.Equal(["please send"], ChannelText(panel, 0));
    }

    [Fact]
    public async Task Upload_CallChannelsAndRemoteDiarization_FillTheFieldsForTheMerge()
    {
        var panel = await RenderCallModeAsync();
        var inputs = panel.FindComponents<InputFile>();
        Assert.Equal(3, inputs.Count);

        inputs[0].UploadFiles(InputFileContent.CreateFromText(RecipeCallTranscripts.VerboseJson(0), "ch0.json"));
        inputs[1].UploadFiles(InputFileContent.CreateFromText(RecipeCallTranscripts.VerboseJson(1), "ch1.json"));
        inputs[2].UploadFiles(InputFileContent.CreateFromText("SPEAKER call 1 0.4 2.0 <NA> <NA> Ann <NA> <NA>\nSPEAKER call 1 5.9 3.0 <NA> <NA> Ben <NA> <NA>\n", "ch1.rttm"));
        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal(RecipeCallTranscripts.VerboseJson(1), panel.Find("textarea[data-testid=remote-asr-input]").GetAttribute("value"));
        // "thank you goodbye" is more than the fill gap after Ben's turn: like the API, a diarized channel names nobody then.
        Assert.Equal(["Ann", "Local", "Ben", ""], panel.FindAll("[data-testid=utterance]").Select(u => u.GetAttribute("data-speaker")));
        Assert.Equal(8, panel.FindAll("[data-testid=echo-word]").Count);
    }

    [Fact]
    public async Task Merge_CallWithoutChannel1_ErrorNamesTheChannel()
    {
        var panel = await RenderCallModeAsync();
        await TypeAsync(panel, "asr-input", RecipeCallTranscripts.VerboseJson(0));

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal("Channel 1 (remote): The transcript is empty.", panel.Find("[data-testid=merge-error]").TextContent.Trim());
        Assert.Empty(panel.FindAll("[data-testid=merged-transcript]"));
    }

    [Fact]
    public async Task Merge_CallOverTheWordLimit_CountsBothChannels()
    {
        Services.AddSingleton(Options.Create(new AudioOptions { MaxWords = 20 }));
        var panel = await RenderCallModeAsync();
        await PasteRecipeCallAsync(panel);

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Contains("The two channels have 31 words; the panel merges at most 20 at a time (setting Audio:MaxWords)", panel.Find("[data-testid=merge-error]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mode_SwitchedBack_SingleTranscriptMergeAsBefore()
    {
        var panel = await RenderCallModeAsync();

        await panel.ClickAsync("[data-testid=mode-single]");
        await panel.ClickAsync("[data-testid=load-example]");

        Assert.Empty(panel.FindAll("textarea[data-testid=remote-asr-input]"));
        Assert.Empty(panel.FindAll("[data-testid=echo-report]"));
        Assert.Equal(["SPEAKER_00", "SPEAKER_01"], panel.FindAll("[data-testid=utterance]").Select(u => u.GetAttribute("data-speaker")));
        Assert.Null(panel.Find("[data-testid=utterance]").GetAttribute("data-channel"));
    }
}
