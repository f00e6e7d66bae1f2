using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Secrets;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Shell;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Model;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Components;

/// <summary>The add forms and the flags editor, with the real catalog store and the simulated demo Spark behind them.</summary>
public sealed class ModelDialogTests : UiTestContext
{
    private readonly TempDirectory _data = new();
    private readonly CatalogStore _store;
    private readonly SimulatedSparkHost _host;

    public ModelDialogTests()
    {
        var time = TimeProvider.System;
        var data = new DataDirectory(_data.Path);
        var catalog = new ModelCatalog(time);
        _store = new CatalogStore(data, catalog);
        _store.SetSources([], [], DemoSpark.LoadCatalog().Models);
        _host = DemoSpark.CreateHost(new DemoOptions(), DemoSpark.LoadCatalog(), time);
        var fleet = new SparkFleet(time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(DemoSpark.Definition, _host, true)], [], true));
        var disk = new DiskSizeProbe(fleet, catalog, time, NullLogger<DiskSizeProbe>.Instance);
        Services.AddSingleton(catalog).AddSingleton(_store).AddSingleton(fleet).AddSingleton(disk)
            .AddSingleton(new LaunchPlanner(new SecretStore(data, time)))
            .AddSingleton(new ModelRegistrar(_store, fleet, disk))
            .AddSingleton(new ModelCopier(fleet, time, NullLogger<ModelCopier>.Instance));
    }

    private async Task<IRenderedComponent<MudDialogProvider>> OpenAsync<TDialog>(DialogParameters? parameters = null)
        where TDialog : Microsoft.AspNetCore.Components.IComponent
    {
        RenderPopoverProvider();
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<TDialog>("test", parameters ?? []));
        return provider;
    }

    [Theory]
    [InlineData("hf-repo-input")]
    [InlineData("hf-revision-input")]
    [InlineData("hf-id-input")]
    [InlineData("hf-served-input")]
    public async Task AddHf_HostileInputInAnyField_ShowsAnErrorAndKeepsAddDisabled(string field)
    {
        var dialog = await OpenAsync<AddHfModelDialog>();
        await dialog.InputAsync("[data-testid=hf-repo-input]", "org/valid");

        // Served names may hold ':' and '/', and every accepted value is quoted as one word; all of these are refused.
        // The form's validity follows an input asynchronously (Add was enabled by the valid repo): wait for it to settle.
        foreach (var hostile in HostileInputs.All.Where((h, i) => i % 3 == 0 && h.Length > 0 && SparkControl.Core.Validation.Validators.ServedName(h) is not null))
        {
            await dialog.InputAsync($"[data-testid={field}]", hostile);
            dialog.WaitForAssertion(() => Assert.True(dialog.Find("[data-testid=hf-save]").HasAttribute("disabled"), $"Add enabled for {SparkControl.Core.Validation.Validators.Printable(hostile)} in {field}"), TimeSpan.FromSeconds(30));
            Assert.NotEmpty(dialog.FindAll(".mud-input-error"));
        }
    }

    [Fact]
    public async Task AddLocal_HostilePaths_AreRefusedBeforeAnythingRuns()
    {
        var dialog = await OpenAsync<AddLocalModelDialog>();

        foreach (var hostile in HostileInputs.All.Where((h, i) => i % 3 == 0 && h.Length > 0))
        {
            await dialog.InputAsync("[data-testid=local-path-input]", "/home/demo/models/" + hostile);
            Assert.True(dialog.Find("[data-testid=local-check]").HasAttribute("disabled"), $"Check enabled for {SparkControl.Core.Validation.Validators.Printable(hostile)}");
        }
    }

    [Fact]
    public async Task AddHf_ValidRepo_IsAddedWithADerivedId()
    {
        var dialog = await OpenAsync<AddHfModelDialog>();

        await dialog.InputAsync("[data-testid=hf-repo-input]", "mistralai/Mistral-Small-3.2-24B-Instruct-2506");
        dialog.WaitForAssertion(() => Assert.False(dialog.Find("[data-testid=hf-save]").HasAttribute("disabled")));
        await dialog.ClickAsync("[data-testid=hf-save]");

        dialog.WaitForAssertion(() => Assert.NotNull(_store.Current.Find("mistral-small-3.2-24b-instruct-2506")));
    }

    [Fact]
    public async Task AddLocal_AdapterIsExplained_FullModelCanBeAdded()
    {
        var dialog = await OpenAsync<AddLocalModelDialog>();

        await dialog.InputAsync("[data-testid=local-path-input]", "/home/demo/models/qwen3-8b-legal-lora");
        await dialog.ClickAsync("[data-testid=local-check]");
        dialog.WaitForAssertion(() => Assert.Contains("--enable-lora", dialog.Find("[data-testid=local-check-result]").TextContent, StringComparison.Ordinal));
        Assert.True(dialog.Find("[data-testid=local-save]").HasAttribute("disabled"));

        await dialog.InputAsync("[data-testid=local-path-input]", "/home/demo/models/qwen3-8b-support-ft");
        await dialog.ClickAsync("[data-testid=local-check]");
        dialog.WaitForAssertion(() => Assert.Contains("A full model", dialog.Find("[data-testid=local-check-result]").TextContent, StringComparison.Ordinal));
        dialog.WaitForAssertion(() => Assert.False(dialog.Find("[data-testid=local-save]").HasAttribute("disabled")));
        await dialog.ClickAsync("[data-testid=local-save]");

        dialog.WaitForAssertion(() => Assert.Equal(new LocalSource("demo", "/home/demo/models/qwen3-8b-support-ft"), _store.Current.Find("qwen3-8b-support-ft")?.Source));
    }

    [Fact]
    public async Task AddLocal_PathOutsideTheRoots_IsRejectedAsYouType()
    {
        var dialog = await OpenAsync<AddLocalModelDialog>();

        await dialog.InputAsync("[data-testid=local-path-input]", "/etc/shadow");

        dialog.WaitForAssertion(() => Assert.Contains("is not under an allow-listed root", dialog.Markup, StringComparison.Ordinal));
        Assert.True(dialog.Find("[data-testid=local-check]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task Flags_EditingAFlag_UpdatesThePreviewAndBadValuesBlockSave()
    {
        var model = _store.Current.Find("qwen3-8b")!;
        var dialog = await OpenAsync<FlagsDialog>(new DialogParameters<FlagsDialog> { { d => d.Model, model } });
        dialog.WaitForAssertion(() => Assert.Contains("--max-model-len 32768", dialog.Find("[data-testid=command-preview]").TextContent, StringComparison.Ordinal));

        await dialog.InputAsync("[data-testid=flag-max-model-len]", "8192");
        dialog.WaitForAssertion(() => Assert.Contains("--max-model-len 8192", dialog.Find("[data-testid=command-preview]").TextContent, StringComparison.Ordinal));

        await dialog.InputAsync("[data-testid=flag-gpu-memory-utilization]", "1.5");
        dialog.WaitForAssertion(() => Assert.True(dialog.Find("[data-testid=flags-save]").HasAttribute("disabled")));
        Assert.Contains("gpuMemoryUtilization is a share of the memory pool", dialog.Markup, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("flag-max-model-len", "abc", "maxModelLen must be a whole number, not 'abc'")]
    [InlineData("flag-max-model-len", "1.5", "maxModelLen must be a whole number, not '1.5'")]
    [InlineData("flag-max-model-len", "-5", "maxModelLen must be between 16 and 10000000 tokens, not -5")]
    [InlineData("flag-max-num-seqs", "eight", "maxNumSeqs must be a whole number, not 'eight'")]
    [InlineData("flag-tensor-parallel-size", "99999999999", "tensorParallelSize 99999999999 is out of range")]
    [InlineData("flag-gpu-memory-utilization", "0,7", "gpuMemoryUtilization must be a number like 0.7, not '0,7'")]
    public async Task Flags_TextThatIsNotAValidNumber_MarksTheFieldKeepsSaveDisabledAndSavesNothing(string field, string typed, string reason)
    {
        var model = _store.Current.Find("qwen3-8b")!;
        var dialog = await OpenAsync<FlagsDialog>(new DialogParameters<FlagsDialog> { { d => d.Model, model } });

        await dialog.InputAsync($"[data-testid={field}]", typed);

        dialog.WaitForAssertion(() => Assert.True(dialog.Find("[data-testid=flags-save]").HasAttribute("disabled")));
        var control = dialog.Find($"[data-testid={field}]").Closest(".mud-input-control")!;
        Assert.True(control.TextContent.Contains(reason, StringComparison.Ordinal), control.OuterHtml);
        await dialog.Find("[data-testid=flags-save]").ClickAsync(new());
        Assert.Equal(model.Flags, _store.Current.Find("qwen3-8b")!.Flags);
    }

    [Fact]
    public async Task Flags_SomeoneElseSavedFirst_ShowsAConflict()
    {
        var model = _store.Current.Find("qwen3-8b")!;
        var dialog = await OpenAsync<FlagsDialog>(new DialogParameters<FlagsDialog> { { d => d.Model, model } });
        await _store.UpdateFlagsAsync("qwen3-8b", model.Flags with { MaxNumSeqs = 2 }, CatalogStore.Version(model), CancellationToken.None);

        await dialog.InputAsync("[data-testid=flag-max-model-len]", "4096");
        await dialog.ClickAsync("[data-testid=flags-save]");

        dialog.WaitForAssertion(() => Assert.Contains("changed by someone else", dialog.Find("[data-testid=flags-conflict]").TextContent, StringComparison.Ordinal));
        Assert.Equal(2, _store.Current.Find("qwen3-8b")!.Flags.MaxNumSeqs);
        Assert.Equal(32768, _store.Current.Find("qwen3-8b")!.Flags.MaxModelLen);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _data.Dispose();
    }
}
