using Microsoft.Playwright;
using SparkControl.Core.Catalog;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class ModelsBrowserTests(BrowserFixture browser)
{
    [Fact]
    public async Task AddLocalModel_ThenEditAFlag_ThePreviewFollows()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
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
    public async Task Discovery_ShowsAdapterAndIncompleteAndRegistersTheFullModel()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
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
}
