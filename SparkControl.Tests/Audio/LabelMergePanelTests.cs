using System.Text;
using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Audio;

public sealed class LabelMergePanelTests : UiTestContext
{
    private const string Transcript = """
        {"words":[{"word":"Hello","start":0.5,"end":0.9},{"word":"there.","start":1.0,"end":1.4},
                  {"word":"Hi","start":2.2,"end":2.6},{"word":"lost","start":9.0,"end":9.2}]}
        """;

    private const string Rttm = "SPEAKER x 1 0.4 0.8 <NA> <NA> Alice <NA> <NA>\nSPEAKER x 1 2.4 1.0 <NA> <NA> Bob <NA> <NA>\n";

    public LabelMergePanelTests() => Services.AddSingleton(Options.Create(new AudioOptions()));

    private static Task TypeAsync(IRenderedComponent<LabelMergePanel> panel, string testId, string text) =>
        panel.ChangeAsync($"textarea[data-testid={testId}]", text);

    [Fact]
    public async Task Merge_PastedTranscriptAndRttm_ColouredUtterancesWithLowConfidenceHighlighted()
    {
        var panel = Render<LabelMergePanel>();

        await TypeAsync(panel, "asr-input", Transcript);
        await TypeAsync(panel, "diarization-input", Rttm);
        await panel.ClickAsync("[data-testid=merge]");

        var utterances = panel.FindAll("[data-testid=utterance]");
        Assert.Equal(["Alice", "Bob", ""], utterances.Select(u => u.GetAttribute("data-speaker")));
        Assert.Equal(["Alice", "Bob", "Unknown"], panel.FindAll("[data-testid=utterance-speaker]").Select(s => s.TextContent));
        Assert.NotEqual(panel.FindAll("[data-testid=utterance-speaker]")[0].GetAttribute("style"), panel.FindAll("[data-testid=utterance-speaker]")[1].GetAttribute("style"));

        // "there." [1.0, 1.4] is only 0.2 s inside Alice's turn; "Hi" half outside Bob's; "lost" has nobody within 1 s.
        Assert.Equal(["there.", "Hi", "lost"], panel.FindAll("[data-testid=word-low]").Select(w => w.TextContent));
        Assert.Contains("beyond-fill-gap", panel.FindAll("[data-testid=word-low]")[2].GetAttribute("title"), StringComparison.Ordinal);
        Assert.Contains("4 words from verbose_json, speakers from RTTM, 2 segments", panel.Find("[data-testid=merge-summary]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_Done_DownloadLinksCarryTheSubtitles()
    {
        var panel = Render<LabelMergePanel>();
        await TypeAsync(panel, "asr-input", Transcript);
        await TypeAsync(panel, "diarization-input", Rttm);

        await panel.ClickAsync("[data-testid=merge]");

        var srt = panel.Find("[data-testid=download-srt]");
        const string prefix = "data:application/x-subrip;charset=utf-8;base64,";
        Assert.StartsWith(prefix, srt.GetAttribute("href"), StringComparison.Ordinal);
        Assert.Equal("transcript.srt", srt.GetAttribute("download"));
        var content = Encoding.UTF8.GetString(Convert.FromBase64String(srt.GetAttribute("href")![prefix.Length..]));
        Assert.StartsWith("1\n00:00:00,500 --> 00:00:01,400\nAlice: Hello there.\n", content, StringComparison.Ordinal);
        Assert.StartsWith("data:text/vtt;", panel.Find("[data-testid=download-vtt]").GetAttribute("href"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_TranscriptAndRttmFiles_FillTheFieldsForTheMerge()
    {
        var panel = Render<LabelMergePanel>();
        var inputs = panel.FindComponents<Microsoft.AspNetCore.Components.Forms.InputFile>();

        inputs[0].UploadFiles(InputFileContent.CreateFromText(Transcript, "call.json"));
        inputs[1].UploadFiles(InputFileContent.CreateFromText(Rttm, "call.rttm"));
        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal(Rttm, panel.Find("textarea[data-testid=diarization-input]").GetAttribute("value"));
        Assert.Equal(["Alice", "Bob", ""], panel.FindAll("[data-testid=utterance]").Select(u => u.GetAttribute("data-speaker")));
    }

    [Fact]
    public async Task Merge_Unreadable_ErrorShownAndNoTranscript()
    {
        var panel = Render<LabelMergePanel>();
        await TypeAsync(panel, "asr-input", "just words without times");

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Contains("no timings", panel.Find("[data-testid=merge-error]").TextContent, StringComparison.Ordinal);
        Assert.Empty(panel.FindAll("[data-testid=merged-transcript]"));
    }

    [Fact]
    public async Task Merge_NothingPasted_SaysSo()
    {
        var panel = Render<LabelMergePanel>();

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Equal("The transcript is empty.", panel.Find("[data-testid=merge-error]").TextContent.Trim());
    }

    [Fact]
    public async Task Merge_MoreWordsThanTheLimit_SaysWhichSetting()
    {
        Services.AddSingleton(Options.Create(new AudioOptions { MaxWords = 3 }));
        var panel = Render<LabelMergePanel>();
        await TypeAsync(panel, "asr-input", Transcript);

        await panel.ClickAsync("[data-testid=merge]");

        Assert.Contains("4 words; the panel merges at most 3 at a time (setting Audio:MaxWords)", panel.Find("[data-testid=merge-error]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadExample_Clicked_MergesTheExample()
    {
        var panel = Render<LabelMergePanel>();

        await panel.ClickAsync("[data-testid=load-example]");

        Assert.Equal(["SPEAKER_00", "SPEAKER_01"], panel.FindAll("[data-testid=utterance]").Select(u => u.GetAttribute("data-speaker")));
        Assert.Equal(["today", "you"], panel.FindAll("[data-testid=word-low]").Select(w => w.TextContent));
    }

    [Fact]
    public void AudioPage_Rendered_OneTabPerToolLabelMergeFirst()
    {
        using var data = new TempDirectory("sc-data");
        using var sweeps = TestSweeps.Create(data.Path, TimeProvider.System);
        Services.AddSingleton(Options.Create(new SparkControl.Core.Audio.Echo.EchoOptions())).AddSingleton(new SparkControl.Core.Audio.Echo.EchoQueue(TimeProvider.System)).AddSingleton(sweeps);

        var page = Render<SparkControl.Web.Components.Pages.Audio>();

        Assert.Equal(["Label merge", "Echo cancellation", "Concurrency sweep"], page.FindAll(".mud-tab").Select(t => t.TextContent.Trim()));
        Assert.NotNull(page.FindComponent<LabelMergePanel>());
        Assert.NotNull(page.FindComponent<EchoCancelPanel>()); // kept alive behind its tab
        Assert.NotNull(page.FindComponent<SweepPanel>());
        Assert.Contains("mud-tab-active", page.FindAll(".mud-tab")[0].ClassName, StringComparison.Ordinal);
    }

    [Fact]
    public void AudioPage_ToolInTheLink_OpensThatTab()
    {
        using var data = new TempDirectory("sc-data");
        using var sweeps = TestSweeps.Create(data.Path, TimeProvider.System);
        Services.AddSingleton(Options.Create(new SparkControl.Core.Audio.Echo.EchoOptions())).AddSingleton(new SparkControl.Core.Audio.Echo.EchoQueue(TimeProvider.System)).AddSingleton(sweeps);

        Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo("/audio?tool=sweep");

        var page = Render<SparkControl.Web.Components.Pages.Audio>();

        Assert.Contains("mud-tab-active", page.FindAll(".mud-tab")[2].ClassName, StringComparison.Ordinal);
    }

    [Fact]
    public void SweepPanel_ForAViewer_SaysWhoMayRunASweep_AndStartIsDisabled()
    {
        SignInAs("viewer");
        using var data = new TempDirectory("sc-data");
        using var sweeps = TestSweeps.Create(data.Path, TimeProvider.System);
        Services.AddSingleton(sweeps);

        var panel = Render<SweepPanel>();

        Assert.Contains("Only an operator or an admin can run a sweep (you are viewer)", panel.Find("[data-testid=role-note]").TextContent, StringComparison.Ordinal);
        Assert.True(panel.Find("[data-testid=sweep-start]").HasAttribute("disabled"));
    }

    [Fact]
    public void SweepPanel_ListsTheChosenFiles_AndRefusesAFileThatIsNotAudio_OrOneTooMany_WithTheReason()
    {
        using var data = new TempDirectory("sc-data");
        using var sweeps = TestSweeps.Create(data.Path, TimeProvider.System);
        Services.AddSingleton(sweeps);
        var panel = Render<SweepPanel>();
        var speech = SparkControl.Core.Audio.Signal.WavFile.Write16(16000, new float[1600]);

        panel.FindComponent<InputFile>().UploadFiles(
            InputFileContent.CreateFromBinary(speech, "a.wav"), InputFileContent.CreateFromBinary(speech, "b.wav"));
        panel.WaitForAssertion(() => Assert.Equal("Audio: a.wav, b.wav.", panel.Find("[data-testid=sweep-files-note]").TextContent.Trim()));

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("<html></html>", "c.wav"));
        panel.WaitForAssertion(() => Assert.Contains("The file 'c.wav' is not audio", panel.Find("[data-testid=sweep-error]").TextContent, StringComparison.Ordinal));
        Assert.StartsWith("Audio: the shipped test speech", panel.Find("[data-testid=sweep-files-note]").TextContent.Trim(), StringComparison.Ordinal);

        var nine = Enumerable.Range(1, SparkControl.Web.Api.AudioSweepEndpoints.MaxFiles + 1).Select(i => InputFileContent.CreateFromBinary(speech, $"{i}.wav")).ToArray();
        panel.FindComponent<InputFile>().UploadFiles(nine);
        panel.WaitForAssertion(() => Assert.Contains($"At most {SparkControl.Web.Api.AudioSweepEndpoints.MaxFiles} files", panel.Find("[data-testid=sweep-error]").TextContent, StringComparison.Ordinal));
    }
}
