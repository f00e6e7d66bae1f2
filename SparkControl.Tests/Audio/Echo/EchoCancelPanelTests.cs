using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Echo;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

public sealed class EchoCancelPanelTests : UiTestContext
{
    private readonly EchoQueue _queue = new(TimeProvider.System);

    public EchoCancelPanelTests()
    {
        Services.AddSingleton(Options.Create(new EchoOptions())).AddSingleton(_queue);
    }

    [Fact]
    public async Task Upload_DriftingCall_ShowsTheDriftFollowed()
    {
        var call = await EchoTestCalls.GetAsync("drift+120ppm");
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call.CallWav, "drift.wav", contentType: "audio/wav"));

        panel.WaitForAssertion(() => Assert.Matches(@"^the loudspeaker's clock ran 1(19|20|21)\.\d ppm fast; the canceller followed it$", panel.Find("[data-testid=echo-drift]").TextContent.Trim()), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Upload_SoftClippingCall_ShowsTheLoudspeakerCurveModelled()
    {
        var call = await EchoTestCalls.GetAsync("clip-soft");
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call.CallWav, "clip.wav", contentType: "audio/wav"));

        panel.WaitForAssertion(() => Assert.Matches(@"^clips or compresses: its curve was modelled \(\d+\.\d dB less of the echo left unexplained\)$", panel.Find("[data-testid=echo-loudspeaker]").TextContent.Trim()), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Upload_PathChangeCall_ShowsWhereTheRoomChanged()
    {
        var call = await EchoTestCalls.GetAsync("path-change");
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call.CallWav, "moved.wav", contentType: "audio/wav"));

        // The call's room changes at 28.8 s (eng/audio/fault-calls.txt).
        panel.WaitForAssertion(() => Assert.Matches(@"^changed at 28\.[5-9] s; the room was fitted on each side apart$|^changed at 29\.[0-3] s; the room was fitted on each side apart$", panel.Find("[data-testid=echo-path]").TextContent.Trim()), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Upload_EchoCall_ShowsDelayErleAndBothPlayers()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call.CallWav, "call.wav", contentType: "audio/wav"));

        panel.WaitForAssertion(() => Assert.Matches(@"^1(19|20|21)\.\d ms$", panel.Find("[data-testid=echo-delay]").TextContent.Trim()), TimeSpan.FromSeconds(60));
        Assert.Matches(@"^\d+\.\d dB$", panel.Find("[data-testid=echo-erle]").TextContent.Trim());
        Assert.Equal("none found", panel.Find("[data-testid=echo-drift]").TextContent.Trim());
        Assert.Equal("linear", panel.Find("[data-testid=echo-loudspeaker]").TextContent.Trim());
        Assert.Equal("no change found", panel.Find("[data-testid=echo-path]").TextContent.Trim());
        Assert.Matches(@"^2, 256 ms \(the room rang out within 1(28|44|60|76) ms; the taps past it were left out\)$", panel.Find("[data-testid=echo-tail-used]").TextContent.Trim());
        Assert.Equal("off", panel.Find("[data-testid=echo-residual-result]").TextContent.Trim());
        Assert.StartsWith("data:audio/wav;base64,", panel.Find("[data-testid=echo-before]").GetAttribute("src"), StringComparison.Ordinal);
        var after = panel.Find("[data-testid=echo-after]").GetAttribute("src")!;
        var cleaned = WavFile.Read(Convert.FromBase64String(after["data:audio/wav;base64,".Length..]));
        Assert.Equal(call.Mic.Length, cleaned.Length);
    }

    [Fact]
    public async Task Upload_WithResidualSuppressionSwitchedOn_CancelsWithIt_AndSaysSo()
    {
        var call = await EchoTestCalls.GetAsync(EchoTestCalls.Default);
        var panel = Render<EchoCancelPanel>();
        Assert.False(panel.Find("input[type=checkbox]").HasAttribute("checked"), "the switch shows the default, off");

        panel.Find("input[type=checkbox]").Change(true);
        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call.CallWav, "call.wav", contentType: "audio/wav"));

        panel.WaitForAssertion(() => Assert.Equal("on", panel.Find("[data-testid=echo-residual-result]").TextContent.Trim()), TimeSpan.FromSeconds(60));
        var after = panel.Find("[data-testid=echo-after]").GetAttribute("src")!;
        var cleaned = WavFile.Read(Convert.FromBase64String(after["data:audio/wav;base64,".Length..]));
        // The page's player holds the output as 16-bit samples.
        var expected = EchoCanceller.Cancel(call.Call, new EchoCancellerSettings { ResidualSuppression = true }).Output;
        Assert.Equal(WavFile.Read(WavFile.Write16(16000, expected)).Channels[0], cleaned.Channels[0]);
    }

    [Fact]
    public void Upload_MonoFile_ShowsWhyItIsRefused()
    {
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(WavFile.Write16(16000, new float[1600]), "mono.wav"));

        panel.WaitForAssertion(() => Assert.Contains("mono.wav: the WAV file has 1 channel; send a stereo call", panel.Find("[data-testid=echo-error]").TextContent, StringComparison.Ordinal));
        Assert.Empty(panel.FindAll("[data-testid=echo-result]"));
    }

    [Fact]
    public void Upload_WhileTheQueueIsFull_SaysToTryAgain_AndReadsNothing()
    {
        // The API's callers hold every place: the page waits its turn in the same queue, and is told when it is full.
        var held = Enumerable.Range(0, new EchoOptions().MaxQueued + 1).Select(_ => _queue.Enter(new EchoOptions().MaxQueued)).ToList();
        var panel = Render<EchoCancelPanel>();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(WavFile.Write16(16000, new float[1600], new float[1600]), "call.wav"));

        panel.WaitForAssertion(() => Assert.Contains("echo cancellations are running or waiting already (Audio:Echo:MaxQueued); try again in", panel.Find("[data-testid=echo-error]").TextContent, StringComparison.Ordinal));
        Assert.Empty(panel.FindAll("[data-testid=echo-result]"));
        held.ForEach(t => t.Dispose());
    }
}
