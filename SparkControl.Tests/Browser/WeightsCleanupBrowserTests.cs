using Microsoft.Playwright;
using SparkControl.Core.Sparks;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>The weights cleanup on the demo's Host page, in a real browser: select, confirm in the dialog, see it gone.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WeightsCleanupBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task HostPage_DeleteAnUnreferencedFolder_TheDialogListsIt_ThenItIsGone()
    {
        await using var app = await SparkControlApp.StartAsync();
        var disk = ((SimulatedSparkHost)app.Get<SparkFleet>().Host("demo")).Disk;
        var hub = $"{DemoSpark.HfCachePath}/hub";
        disk.AddDirectory($"{hub}/models--gpt2", 548L << 20, "config.json", "model.safetensors");
        disk.AddDirectory($"{hub}/models--org--old-experiment", 15L << 30, "config.json", "model.safetensors");
        var page = await NewPageAsync(app.BaseAddress);

        await page.GotoAsync("/sparks/demo/host");
        var gpt2 = page.Locator("tr[data-folder='models--gpt2']");
        await Expect(gpt2).ToHaveAttributeAsync("data-deletable", "true");
        await Expect(page.Locator("tr[data-deletable='false']").First).ToBeVisibleAsync();
        await Expect(page.Locator("tr[data-deletable='false'] input[type=checkbox]")).ToHaveCountAsync(0);

        await gpt2.Locator("input[type=checkbox]").CheckAsync();
        await page.GetByTestId("weights-delete").ClickAsync();
        await Expect(page.GetByTestId("weights-confirm-list")).ToContainTextAsync("models--gpt2");
        await Expect(page.GetByTestId("weights-confirm-list")).Not.ToContainTextAsync("models--org--old-experiment");
        await Expect(page.GetByTestId("weights-confirm-total")).ToContainTextAsync("1 folder,");
        await page.SaveScreenshotAsync("weights-confirm.png");
        await page.GetByTestId("weights-confirm-ok").ClickAsync();

        await Expect(page.Locator("[data-testid=weights-result-row][data-outcome=deleted]")).ToContainTextAsync("models--gpt2");
        await Expect(gpt2).ToHaveCountAsync(0);
        await Expect(page.Locator("tr[data-folder='models--org--old-experiment']")).ToHaveCountAsync(1);
        Assert.False(disk.Exists($"{hub}/models--gpt2"));
    }
}
