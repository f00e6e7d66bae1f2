using Microsoft.Playwright;
using SparkControl.Core.Catalog;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class ModelsBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task AddLocalModel_ThenEditAFlag_ThePreviewFollows()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("add-local-model").ClickAsync();
        await page.GetByTestId("local-path-input").FillAsync("/home/demo/models/qwen3-8b-support-ft");
        await page.GetByTestId("local-check").ClickAsync();
        await Expect(page.GetByTestId("local-check-result")).ToContainTextAsync("A full model at /home/demo/models/qwen3-8b-support-ft (17.2 GB)");
        await page.GetByTestId("local-save").ClickAsync();

        var row = page.GetByTestId("model-qwen3-8b-support-ft").Locator("xpath=..");
        await Expect(row).ToContainTextAsync("demo:/home/demo/models/qwen3-8b-support-ft");
        await Expect(row.GetByTestId("disk-demo")).ToContainTextAsync("17.2 GB on demo");

        await page.GetByTestId("edit-flags-qwen3-8b-support-ft").ClickAsync();
        var preview = page.GetByTestId("command-preview");
        await Expect(preview).ToContainTextAsync("serve /home/demo/models/qwen3-8b-support-ft --served-model-name qwen3-8b-support-ft");
        await Expect(preview).Not.ToContainTextAsync("--max-model-len");
        await page.GetByTestId("flag-max-model-len").FillAsync("8192");
        await page.GetByTestId("flag-max-model-len").BlurAsync();
        await Expect(preview).ToContainTextAsync("--max-model-len 8192");
        await page.SaveScreenshotAsync("models-flags.png", fullPage: false);
        await page.GetByTestId("flags-save").ClickAsync();

        await Wait.UntilAsync(() => app.Get<ModelCatalog>().Current.Find("qwen3-8b-support-ft")?.Flags.MaxModelLen == 8192, "the flag is saved");
        await page.SaveScreenshotAsync("models.png");
    }

    [Fact]
    public async Task Adapters_CheckedPreviewedAndAttached_TheServingBaseStartsAgain_ThenRemovedAfterConfirming()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("edit-adapters-qwen3-8b").ClickAsync();
        await Expect(page.GetByTestId("adapters-none")).ToBeVisibleAsync();
        // A text input drops line breaks itself; '=' is what a path must not hold here (--lora-modules NAME=PATH).
        await page.GetByTestId("adapter-path").FillAsync("/home/demo/models/legal=v2");
        await Expect(page.GetByTestId("adapter-check")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("adapters-dialog")).ToContainTextAsync("which --lora-modules NAME=PATH cannot carry");
        await page.GetByTestId("adapter-path").FillAsync("/home/demo/models/llama-70b-sql-lora");
        await page.GetByTestId("adapter-check").ClickAsync();
        // Trained on another base: Attach waits for the operator to say it fits.
        await Expect(page.GetByTestId("adapter-check-result")).ToContainTextAsync("trained on meta-llama/Llama-3.3-70B-Instruct, but qwen3-8b serves Qwen/Qwen3-8B");
        await Expect(page.GetByTestId("adapter-attach")).ToBeDisabledAsync();

        await page.GetByTestId("adapter-path").FillAsync("/home/demo/models/qwen3-8b-legal-lora");
        await page.GetByTestId("adapter-name").FillAsync("legal");
        await page.GetByTestId("adapter-check").ClickAsync();
        await Expect(page.GetByTestId("adapter-check-result")).ToContainTextAsync("A LoRA adapter of rank 16");
        await Expect(page.GetByTestId("adapter-preview")).ToContainTextAsync("--enable-lora --max-lora-rank 16 --lora-modules legal=/home/demo/models/qwen3-8b-legal-lora");
        await page.SaveScreenshotAsync("models-adapters.png", fullPage: false);
        await page.GetByTestId("adapter-attach").ClickAsync();

        await Expect(page.GetByText("qwen3-8b is starting again on demo to load its adapters.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("adapters-qwen3-8b")).ToContainTextAsync("LoRA: legal");
        using var client = app.CreateClient();
        await Wait.UntilAsync(async () => (await client.GetStringAsync("/v1/models")).Contains("\"legal\"", StringComparison.Ordinal), "the gateway serves the adapter");

        await page.GetByTestId("edit-adapters-qwen3-8b").ClickAsync();
        await page.GetByTestId("adapter-remove-legal").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("adapters-qwen3-8b")).ToHaveCountAsync(0);
        Assert.Empty(app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Adapters);
    }

    [Fact]
    public async Task AddLocal_AnAdapter_IsHandedToTheModelItWasTrainedOn_AndAttachedThere()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("add-local-model").ClickAsync();
        await page.GetByTestId("local-path-input").FillAsync("/home/demo/models/qwen3-8b-legal-lora");
        await page.GetByTestId("local-check").ClickAsync();
        await Expect(page.GetByTestId("local-check-result")).ToContainTextAsync("PEFT adapter");
        await Expect(page.GetByTestId("local-adapter-base")).ToContainTextAsync("Qwen3 8B");
        await page.GetByTestId("local-attach-adapter").ClickAsync();

        // Its base model's adapters dialog opens with the directory filled in and checked.
        await Expect(page.GetByTestId("adapters-dialog")).ToContainTextAsync("served next to Qwen3 8B");
        await Expect(page.GetByTestId("adapter-check-result")).ToContainTextAsync("A LoRA adapter of rank 16");
        await page.GetByTestId("adapter-attach").ClickAsync();

        await Expect(page.GetByTestId("adapters-qwen3-8b")).ToContainTextAsync("LoRA: qwen3-8b-legal-lora");
        Assert.Null(app.Get<ModelCatalog>().Current.Find("qwen3-8b-legal-lora"));
    }

    [Fact]
    public async Task Flags_InvalidMaxModelLen_KeepsSaveDisabledWithTheReason_AndSavesNothing()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        await page.GetByTestId("edit-flags-qwen3-8b").ClickAsync();
        var input = page.GetByTestId("flag-max-model-len");
        var field = input.Locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' mud-input-control ')][1]");
        await Expect(page.GetByTestId("command-preview")).ToContainTextAsync("--max-model-len 32768");

        foreach (var (typed, reason) in new[] { ("abc", "maxModelLen must be a whole number"), ("-5", "maxModelLen must be between 16 and 10000000"), ("1.5", "maxModelLen must be a whole number") })
        {
            await input.FillAsync(typed);
            await input.BlurAsync();
            await Expect(page.GetByTestId("flags-save")).ToBeDisabledAsync();
            await Expect(field).ToContainTextAsync(reason);
            await Expect(field.Locator(".mud-input-error").First).ToBeVisibleAsync();
            if (typed == "abc")
            {
                await page.SaveScreenshotAsync("models-flags-invalid.png", fullPage: false);
            }
        }

        // Enter in the field and a click on the (disabled) button are the ways an operator tries to save anyway.
        await input.PressAsync("Enter");
        await page.GetByTestId("flags-save").ClickAsync(new() { Force = true });
        await Expect(page.GetByTestId("flags-save")).ToBeVisibleAsync();
        Assert.Equal(32768, app.Get<ModelCatalog>().Current.Find("qwen3-8b")!.Flags.MaxModelLen);

        await input.FillAsync("8192");
        await input.BlurAsync();
        await Expect(page.GetByTestId("flags-save")).ToBeEnabledAsync();
        await Expect(field.Locator(".mud-input-error")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task AddHf_SameRepoAgain_SaysItExistsAndLinksToIt_ACopyOnlyWhenAsked()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        var dialog = page.Locator(".mud-dialog");

        await page.GetByTestId("add-hf-model").ClickAsync();
        await dialog.GetByTestId("hf-repo-input").FillAsync("Qwen/Qwen3-8B");
        await Expect(dialog.GetByTestId("model-exists")).ToContainTextAsync("Qwen/Qwen3-8B is already in the catalog as qwen3-8b");
        await Expect(dialog.GetByTestId("hf-save")).ToBeDisabledAsync();
        await page.SaveScreenshotAsync("models-add-duplicate.png", fullPage: false);
        await dialog.GetByTestId("model-exists-link").ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/models#model-qwen3-8b$"));
        await Expect(page.Locator("#model-qwen3-8b")).ToBeInViewportAsync();
        Assert.Null(app.Get<ModelCatalog>().Current.Find("qwen3-8b-2"));

        await page.GetByTestId("add-hf-model").ClickAsync();
        await dialog.GetByTestId("hf-repo-input").FillAsync("Qwen/Qwen3-8B");
        await Expect(dialog.GetByTestId("hf-save")).ToBeDisabledAsync();
        await dialog.GetByTestId("add-copy").CheckAsync();
        await Expect(dialog.GetByTestId("hf-save")).ToBeEnabledAsync();
        await dialog.GetByTestId("hf-save").ClickAsync();

        await Expect(page.GetByTestId("model-qwen3-8b-2")).ToBeVisibleAsync();
        Assert.Equal(new HuggingFaceSource("Qwen/Qwen3-8B"), app.Get<ModelCatalog>().Current.Find("qwen3-8b-2")!.Source);
    }

    [Fact]
    public async Task AddLocal_SamePathAgain_SaysItExists_ACopyOnlyWhenAsked()
    {
        await using var app = await SparkControlApp.StartAsync();
        const string path = "/home/demo/models/qwen3-8b-support-ft";
        await app.Get<SparkControl.Web.Model.ModelRegistrar>().AddAsync(new("local", null, null, "demo", path, null, null), CancellationToken.None);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        var dialog = page.Locator(".mud-dialog");

        await page.GetByTestId("add-local-model").ClickAsync();
        await dialog.GetByTestId("local-path-input").FillAsync(path);
        await Expect(dialog.GetByTestId("model-exists")).ToContainTextAsync($"demo:{path} is already in the catalog as qwen3-8b-support-ft");
        await dialog.GetByTestId("local-check").ClickAsync();
        await Expect(dialog.GetByTestId("local-check-result")).ToContainTextAsync("A full model");
        await Expect(dialog.GetByTestId("local-save")).ToBeDisabledAsync();
        Assert.Null(app.Get<ModelCatalog>().Current.Find("qwen3-8b-support-ft-2"));

        await dialog.GetByTestId("add-copy").CheckAsync();
        await Expect(dialog.GetByTestId("local-save")).ToBeEnabledAsync();
        await dialog.GetByTestId("local-save").ClickAsync();

        await Expect(page.GetByTestId("model-qwen3-8b-support-ft-2")).ToBeVisibleAsync();
        Assert.Equal(2, app.Get<ModelCatalog>().Current.Models.Count(m => m.Source is LocalSource { Path: path }));
    }

    [Fact]
    public async Task Discovery_ShowsAdapterAndIncompleteAndRegistersTheFullModel()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("discover-models").ClickAsync();
        await page.GetByTestId("discover-scan").ClickAsync();

        await Expect(page.GetByTestId("candidate-qwen3-8b-legal-lora")).ToContainTextAsync("PEFT adapter");
        await Expect(page.GetByTestId("candidate-qwen3-8b-legal-lora")).ToContainTextAsync("--enable-lora");
        await Expect(page.GetByTestId("candidate-checkpoint-1200")).ToContainTextAsync("incomplete");
        await page.GetByTestId("candidate-qwen3-8b-support-ft").GetByTestId("discover-register").ClickAsync();
        await Expect(page.GetByTestId("candidate-qwen3-8b-support-ft")).ToContainTextAsync("registered as qwen3-8b-support-ft");
        Assert.NotNull(app.Get<ModelCatalog>().Current.Find("qwen3-8b-support-ft"));
    }

    [Fact]
    public async Task InstallNim_RefusedWithoutAKeySayingWhereToAddIt_ThenWithTheKey_ShowsTheLayersAndTheSwap()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");

        await page.GetByTestId("install-nim").ClickAsync();
        await page.GetByTestId("nim-image").FillAsync("nvcr.io/nim/nvidia/llama-3.1-nemotron-nano-8b-v1:1.8.4");
        await Expect(page.GetByTestId("nim-served-name")).ToHaveValueAsync("llama-3.1-nemotron-nano-8b-v1");
        await page.GetByTestId("nim-port").FillAsync("0");
        await Expect(page.GetByTestId("nim-dialog")).ToContainTextAsync("port must be");
        await Expect(page.GetByTestId("nim-install")).ToBeDisabledAsync();
        await page.GetByTestId("nim-port").FillAsync("8000");
        await page.GetByTestId("nim-memory").FillAsync("16");
        await page.GetByTestId("nim-install").ClickAsync();
        await Expect(page.GetByText("the model demo serves now stops")).ToBeVisibleAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("nim-error")).ToContainTextAsync("No NGC API key is stored: add the secret 'ngc-api-key' in Settings → Secrets");

        await app.Get<SparkControl.Core.Secrets.SecretStore>().SetAsync(SparkControl.Core.Secrets.SecretStore.NgcApiKey, "nvapi-demo-key", CancellationToken.None);
        await page.GetByTestId("nim-install").ClickAsync();
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("nim-ready")).ToContainTextAsync("llama-3.1-nemotron-nano-8b-v1 is ready on demo", new() { Timeout = 60_000 });
        await Expect(page.GetByTestId("nim-layers")).ToHaveTextAsync("6 of 6 layers pulled");
        await Expect(page.GetByTestId("nim-swap")).ToBeVisibleAsync();
        await page.GetByTestId("nim-close").ClickAsync();
        await Expect(page.GetByTestId("model-llama-3.1-nemotron-nano-8b-v1")).ToContainTextAsync("(NIM)");
        await Expect(page.GetByTestId("edit-flags-llama-3.1-nemotron-nano-8b-v1")).ToHaveCountAsync(0);
    }
}
