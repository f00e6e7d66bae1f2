using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Hosts;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Model;

namespace SparkControl.Tests.Components;

/// <summary>
/// Forms with numbers: a value a form cannot save is marked on its field with the reason, keeps the form's action
/// disabled, and a click that arrives anyway changes nothing; never a clamped value or the previous one.
/// </summary>
public sealed class FormNumberTests : UiTestContext
{
    private readonly TempDirectory _data = new();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _data.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void AssertMarked(AngleSharp.Dom.IElement input, string reason)
    {
        var control = input.Closest(".mud-input-control")!;
        Assert.True(control.TextContent.Contains(reason, StringComparison.Ordinal), control.OuterHtml);
    }

    [Theory]
    [InlineData("echo-passes", "abc", "passes must be 1 or 2, not 'abc'")]
    [InlineData("echo-passes", "3", "passes must be 1 or 2, not '3'")]
    [InlineData("echo-tail", "5000", "tailMs must be a whole number of milliseconds from 16 to 1000, not '5000'")]
    [InlineData("echo-tail", "12.5", "tailMs must be a whole number of milliseconds from 16 to 1000, not '12.5'")]
    [InlineData("echo-passes", "2\t", "passes must be 1 or 2, not '2\\u0009'")]
    [InlineData("echo-tail", "\n256", "tailMs must be a whole number of milliseconds from 16 to 1000, not '\\u000a256'")]
    public async Task Echo_SettingsItCannotUse_MarkTheFieldAndTakeNoCall(string field, string typed, string reason)
    {
        Services.AddSingleton(Options.Create(new EchoOptions())).AddSingleton(new EchoQueue(TimeProvider.System));
        var panel = Render<EchoCancelPanel>();

        await panel.ChangeAsync($"input[data-testid={field}]", typed);

        panel.WaitForAssertion(() => Assert.True(panel.Find("[data-testid=echo-upload]").HasAttribute("disabled")));
        AssertMarked(panel.Find($"input[data-testid={field}]"), reason);
        var call = WavFile.Write16(16000, new float[1600], new float[1600]);
        panel.FindComponent<Microsoft.AspNetCore.Components.Forms.InputFile>().UploadFiles(InputFileContent.CreateFromBinary(call, "call.wav"));
        Assert.Empty(panel.FindAll("[data-testid=echo-result]"));
        Assert.Empty(panel.FindAll("[data-testid=echo-busy]"));
    }

    [Theory]
    [InlineData("sweep-max", "abc", "maxConcurrency must be a whole number, not 'abc'")]
    [InlineData("sweep-max", "40", "maxConcurrency must be between 1 and 32, not 40")]
    [InlineData("sweep-requests", "0", "requestsPerStep must be between 1 and 200, not 0")]
    [InlineData("sweep-p95", "0.01", "p95BoundSeconds must be between 0.1 and 600, not 0.01")]
    [InlineData("sweep-p95", "fast", "p95BoundSeconds must be a number like 0.7, not 'fast'")]
    [InlineData("sweep-max", "4\t", "maxConcurrency must be a whole number, not '4\\u0009'")]
    [InlineData("sweep-p95", "0.5\n", "p95BoundSeconds must be a number like 0.7, not '0.5\\u000a'")]
    public async Task Sweep_SettingsItCannotUse_MarkTheFieldKeepStartDisabledAndStartNothing(string field, string typed, string reason)
    {
        using var sweeps = TestSweeps.Create(_data.Path, TimeProvider.System, new ServiceDefinition
        {
            Spark = "demo", Name = "asr", Kind = ServiceKind.ParakeetAsr, Url = "http://127.0.0.1:9/", Models = [new ServiceModelName("parakeet-tdt-0.6b-v2", [])],
        });
        Services.AddSingleton(sweeps);
        RenderPopoverProvider();
        var panel = Render<SweepPanel>();
        Assert.False(panel.Find("[data-testid=sweep-start]").HasAttribute("disabled"));

        await panel.ChangeAsync($"input[data-testid={field}]", typed);

        panel.WaitForAssertion(() => Assert.True(panel.Find("[data-testid=sweep-start]").HasAttribute("disabled")));
        AssertMarked(panel.Find($"input[data-testid={field}]"), reason);
        await panel.Find("[data-testid=sweep-start]").ClickAsync(new());
        Assert.Empty(sweeps.Board.Value.Runs);
        Assert.Empty(panel.FindAll("[data-testid=sweep-error]"));
    }

    [Theory]
    [InlineData("service-estimate-input", "abc", "memoryEstimateGiB must be a number like 0.7, not 'abc'")]
    [InlineData("service-estimate-input", "-4", "memoryEstimateGiB must be between 0 and 1024")]
    [InlineData("service-cap-input", "9", "maxInFlight must be between 1 and 3, not 9")]
    [InlineData("service-cap-input", "two", "maxInFlight must be a whole number, not 'two'")]
    [InlineData("service-port-input", "99999", "port must be between 1 and 65535, not 99999")]
    [InlineData("service-port-input", "90a", "port must be a whole number, not '90a'")]
    public async Task Service_NumbersItCannotSave_MarkTheFieldKeepSaveDisabledAndSaveNothing(string field, string typed, string reason)
    {
        var store = new ServiceSettingsStore(new DataDirectory(_data.Path), TimeProvider.System);
        var original = new ServiceDefinition
        {
            Spark = "demo", Name = "asr", Kind = ServiceKind.ParakeetAsr, Port = 9000, MemoryEstimateGiB = 6, MaxInFlight = 2,
            Models = [new ServiceModelName("parakeet-tdt-0.6b-v2", [])],
        };
        var saved = await store.AddAsync(original, CancellationToken.None);
        var dialogs = await OpenServiceDialogAsync(store, saved);

        await dialogs.ChangeAsync($"input[data-testid={field}]", typed);

        dialogs.WaitForAssertion(() => Assert.True(dialogs.Find("[data-testid=service-save]").HasAttribute("disabled")));
        AssertMarked(dialogs.Find($"input[data-testid={field}]"), reason);
        await dialogs.Find("[data-testid=service-save]").ClickAsync(new());
        Assert.Equal(saved, store.Find(saved.Key));
    }

    /// <summary>The cap parses, so the form cannot tell; Save asks the Spark, as the API does, and keeps the old definition.</summary>
    [Fact]
    public async Task Service_ACapAboveTheSparksMemory_IsMarkedOnSave_AndNothingIsSaved()
    {
        var store = new ServiceSettingsStore(new DataDirectory(_data.Path), TimeProvider.System);
        var saved = await store.AddAsync(new ServiceDefinition { Spark = "demo", Name = "asr", Kind = ServiceKind.ParakeetAsr, Container = "asr", Port = 9000 }, CancellationToken.None);
        var dialogs = await OpenServiceDialogAsync(store, saved);

        await dialogs.ChangeAsync("input[data-testid=service-memory-limit-input]", "500g");
        await dialogs.Find("[data-testid=service-save]").ClickAsync(new());

        dialogs.WaitForAssertion(() => AssertMarked(dialogs.Find("input[data-testid=service-memory-limit-input]"), "memoryLimit 500g is more than demo has: 121.7 GiB of memory"));
        Assert.Equal(saved, store.Find(saved.Key));
    }

    /// <summary>A Qdrant service's API key: typed into a password field, refused with a line break, saved to secrets.yaml, never shown again.</summary>
    [Fact]
    public async Task Service_AQdrantsApiKey_IsWriteOnly_CheckedAsASecret_AndSavedUnderTheServicesName()
    {
        var store = new ServiceSettingsStore(new DataDirectory(_data.Path), TimeProvider.System);
        var saved = await store.AddAsync(new ServiceDefinition { Spark = "demo", Name = "vault", Kind = ServiceKind.Qdrant, Port = 6333 }, CancellationToken.None);
        var dialogs = await OpenServiceDialogAsync(store, saved);
        var secrets = Services.GetRequiredService<SecretStore>();
        const string secretName = "qdrant-api-key-demo-vault";

        var field = dialogs.Find("input[data-testid=service-api-key-input]");
        Assert.Equal("password", field.GetAttribute("type"));
        Assert.Contains("No key is set", field.Closest(".mud-input-control")!.TextContent, StringComparison.Ordinal);
        await dialogs.InputAsync("input[data-testid=service-api-key-input]", "key-one\nkey-two");
        dialogs.WaitForAssertion(() => Assert.True(dialogs.Find("[data-testid=service-save]").HasAttribute("disabled")));
        AssertMarked(dialogs.Find("input[data-testid=service-api-key-input]"), "line breaks");
        await dialogs.InputAsync("input[data-testid=service-api-key-input]", "qdrant-key-7d1e");
        await dialogs.ChangeAsync("input[data-testid=service-grpc-port-input]", "7334");
        dialogs.WaitForAssertion(() => Assert.False(dialogs.Find("[data-testid=service-save]").HasAttribute("disabled")));
        await dialogs.Find("[data-testid=service-save]").ClickAsync(new());

        dialogs.WaitForAssertion(() => Assert.Equal("qdrant-key-7d1e", secrets.Reveal(secretName)));
        Assert.Equal(7334, store.Find(saved.Key)!.GrpcPort);
        var again = await OpenServiceDialogAsync(store, store.Find(saved.Key)!, registered: true);
        var reopened = again.FindAll("input[data-testid=service-api-key-input]")[^1];
        Assert.True(string.IsNullOrEmpty(reopened.GetAttribute("value")));
        Assert.Contains("A key is set", reopened.Closest(".mud-input-control")!.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain("qdrant-key-7d1e", again.Markup, StringComparison.Ordinal);
    }

    /// <summary>The Settings dialog editing <paramref name="saved"/> on the demo Spark, a 121.7 GiB one.</summary>
    private async Task<IRenderedComponent<MudDialogProvider>> OpenServiceDialogAsync(ServiceSettingsStore store, ServiceDefinition saved, bool registered = false)
    {
        IRenderedComponent<MudDialogProvider> dialogs;
        if (registered)
        {
            // A second dialog in the same context: the services and providers are there already.
            dialogs = Render<MudDialogProvider>();
        }
        else
        {
            var fleet = new SparkFleet(TimeProvider.System);
            var demo = new FakeSparkHost("demo") { Memory = new SparkControl.Core.Hosts.MemoryInfo((long)(121.7 * (1L << 30)), 100L << 30) };
            fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "demo", Host = "demo.test", User = "nvidia" }, demo, false)], [], false));
            Services.AddSingleton(store).AddSingleton(new MemoryCapCheck(fleet, Microsoft.Extensions.Logging.Abstractions.NullLogger<MemoryCapCheck>.Instance))
                .AddSingleton(new SecretStore(new DataDirectory(_data.Path), TimeProvider.System));
            RenderPopoverProvider();
            dialogs = Render<MudDialogProvider>();
        }

        var parameters = new DialogParameters<ServiceDialog>
        {
            { d => d.Model, ServiceForm.From(saved) }, { d => d.Sparks, ["demo"] }, { d => d.OriginalKey, saved.Key }, { d => d.OriginalVersion, store.Version(saved) },
        };
        await dialogs.InvokeAsync(() => Services.GetRequiredService<IDialogService>().ShowAsync<ServiceDialog>("Edit", parameters));
        dialogs.WaitForElement("[data-testid=service-save]");
        return dialogs;
    }

    [Fact]
    public async Task Secrets_AValueItCannotSave_IsMarkedOnItsFieldAndSaveStaysDisabled()
    {
        var secrets = new SecretStore(new DataDirectory(_data.Path), TimeProvider.System);
        var data = new DataDirectory(_data.Path);
        Services.AddSingleton(secrets).AddSingleton(new SparkSettingsStore(data, new SparkControl.Core.Remote.SshKeyStore(data, []), new SparkWork(), TimeProvider.System));
        RenderPopoverProvider();
        var panel = Render<SecretsPanel>();
        var row = $"[data-testid=secret-{SecretStore.HfToken}]";

        await panel.InputAsync($"{row} input[data-testid=secret-input]", "hf_abc\tdef");

        panel.WaitForAssertion(() => Assert.True(panel.Find($"{row} [data-testid=secret-save]").HasAttribute("disabled")));
        AssertMarked(panel.Find($"{row} input[data-testid=secret-input]"), "the value must not contain control characters or line breaks");
        Assert.Null(secrets.Reveal(SecretStore.HfToken));
    }
}
