using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Services;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Web;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

/// <summary>
/// axe-core on every page the router serves, in light and in dark mode: no critical or serious violation (contrast,
/// landmarks, headings, names). Dialogs close on Escape.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AccessibilityBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    public static TheoryData<string> Pages() =>
    [
        "/", "/models", "/swaps", "/gpu", "/services",
        "/services/demo/parakeet-asr", "/services/demo/embeddings", "/services/demo/tts", "/services/demo/qdrant", "/services/demo/open-webui",
        "/audio", "/transcripts", "/transcripts/no-such-call", "/scrub", "/search", "/services/demo/qdrant/collections/no-such-collection", "/settings", "/access", "/audit", "/sparks/demo/host", "/not-found",
    ];

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task EveryPage_HasNoSeriousViolations_InLightAndDarkMode(string path)
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync(path);
        await WaitForCircuitAsync(page);

        await AssertNoSeriousViolationsInBothModesAsync(page);
    }

    /// <summary>A finished call's page, with its speakers, notes and downloads: what the sweep's unknown id cannot show.</summary>
    [Fact]
    public async Task ATranscriptsPage_HasNoSeriousViolations_InLightAndDarkMode()
    {
        using var data = new TempDirectory("sc-data");
        var gate = new GatedTranscriber();
        gate.Open(100);
        await using var worker = new TestAudioWorker(gate);
        await File.WriteAllTextAsync(Path.Combine(data.Path, ServicesYaml.FileName), TestAudioWorker.ServicesYaml(("gated", worker.Port, 2)));
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?>
        {
            ["Demo:InitialModel"] = string.Empty,
            ["Transcripts:Model"] = "test-asr",
        }, data.Path);
        await TestAudioWorker.WaitHealthyAsync(app, "gated");
        using var client = app.CreateClient();
        var call = WavFile.Write16(16_000, new float[16_000 * 5], new float[16_000 * 5]);
        var (_, started) = await TranscriptJobTests.SubmitAsync(client, call, "call.wav", ("speakers", "Agent, Customer"));
        var id = started.GetProperty("id").GetString()!;
        await TranscriptJobTests.WaitForAsync(client, id, "done");

        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync($"/transcripts/{id}");
        await WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("utterance-speaker").First).ToBeVisibleAsync();

        await AssertNoSeriousViolationsInBothModesAsync(page);
    }

    [Theory]
    [InlineData("/signin")]
    [InlineData("/setup")]
    public async Task AccountPages_HaveNoSeriousViolations(string path)
    {
        await using var app = await SparkControlApp.StartAsync(new Dictionary<string, string?> { ["Security:AllowAnonymous"] = "false" });
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync(path);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        var violations = await SeriousViolationsAsync(page);

        Assert.True(violations.Length == 0, $"{page.Url}\n{string.Join('\n', violations)}");
    }

    [Fact]
    public async Task Screenshots_OfPagesInBothModes()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        foreach (var (path, name) in new[] { ("/", "dashboard"), ("/models", "models"), ("/services/demo/parakeet-asr", "service"), ("/audio", "audio") })
        {
            await page.GotoAsync(path);
            await WaitForCircuitAsync(page);
            await Expect(page.Locator("main h1")).ToBeVisibleAsync();
            await page.SaveScreenshotAsync($"a11y-{name}-light.png");
            await SwitchToDarkAsync(page);
            await page.SaveScreenshotAsync($"a11y-{name}-dark.png");
        }
    }

    [Fact]
    public async Task Escape_ClosesADialog()
    {
        await using var app = await SparkControlApp.StartAsync();
        var (page, dialog) = await OpenAddModelDialogAsync(app);
        // As an operator does: starts typing, changes their mind, presses Escape.
        await dialog.GetByRole(AriaRole.Textbox).First.FillAsync("org/");
        await page.Keyboard.PressAsync("Escape");

        await Expect(dialog).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Escape_StraightAfterOpening_ClosesADialog()
    {
        await using var app = await SparkControlApp.StartAsync();
        var (page, dialog) = await OpenAddModelDialogAsync(app);
        // The keyboard user's first key: focus must already be inside the dialog, where its Escape handler listens.
        await Expect(dialog.Locator(":focus")).ToHaveCountAsync(1);
        await page.Keyboard.PressAsync("Escape");

        await Expect(dialog).ToHaveCountAsync(0);
    }

    private async Task<(IPage Page, ILocator Dialog)> OpenAddModelDialogAsync(SparkControlApp app)
    {
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/models");
        await WaitForCircuitAsync(page);

        await page.GetByTestId("add-hf-model").ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        return (page, dialog);
    }

    [Fact]
    public async Task ANotice_DoesNotCoverTheButtonItReportsOn()
    {
        using var made = new TempDirectory("sc-keygen");
        var file = made.File("id_ed25519");
        (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", file])).EnsureSuccess("ssh-keygen");
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/settings");
        await WaitForCircuitAsync(page);

        await page.GetByTestId("ssh-key-name").FillAsync("spark-1");
        await page.GetByTestId("ssh-key-file").Locator("input[type=file]").SetBlazorInputFilesAsync(file);
        var notice = page.Locator(".mud-snackbar", new() { HasText = "Saved the key spark-1" });
        await Expect(notice).ToBeVisibleAsync();

        var button = await page.GetByTestId("ssh-key-upload").BoundingBoxAsync();
        var box = await notice.BoundingBoxAsync();
        Assert.NotNull(button);
        Assert.NotNull(box);
        var overlaps = box.X < button.X + button.Width && button.X < box.X + box.Width && box.Y < button.Y + button.Height && button.Y < box.Y + box.Height;
        await page.SaveScreenshotAsync("notice-after-save.png", fullPage: false);
        Assert.False(overlaps, $"the notice at ({box.X}, {box.Y}, {box.Width}x{box.Height}) covers the button at ({button.X}, {button.Y}, {button.Width}x{button.Height})");
    }

    /// <summary>The page is interactive once the dark-mode toggle answers; the test toggles it back to where it was.</summary>
    private static async Task WaitForCircuitAsync(IPage page)
    {
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Wait.UntilAsync(async () => await page.EvaluateAsync<bool>("() => !!window.Blazor && document.querySelector('[data-testid=dark-mode-toggle]') !== null"), "the page has loaded", TimeSpan.FromSeconds(90));
        await SwitchToDarkAsync(page);
        await SwitchToLightAsync(page);
    }

    private static Task SwitchToDarkAsync(IPage page) => ToggleUntilAsync(page, dark: true);

    private static Task SwitchToLightAsync(IPage page) => ToggleUntilAsync(page, dark: false);

    /// <summary>
    /// Clicks the toggle until the page's background says the mode changed: a click before the circuit is up does
    /// nothing, so each click waits a while for its effect before the next.
    /// </summary>
    private static async Task ToggleUntilAsync(IPage page, bool dark)
    {
        var isDark = "() => { const m = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number); return m[0] + m[1] + m[2] < 384; }";
        var want = dark ? isDark : $"() => !({isDark})()";
        for (var attempt = 1; !await page.EvaluateAsync<bool>(want); attempt++)
        {
            Assert.True(attempt <= 10, dark ? "the page did not turn dark" : "the page did not turn light");
            await page.GetByTestId("dark-mode-toggle").ClickAsync();
            try
            {
                await page.WaitForFunctionAsync(want, null, new() { Timeout = 10_000 });
            }
            catch (TimeoutException)
            {
            }
        }
    }

    private static async Task AssertNoSeriousViolationsInBothModesAsync(IPage page)
    {
        var light = await SeriousViolationsAsync(page);
        await SwitchToDarkAsync(page);
        var dark = await SeriousViolationsAsync(page);

        Assert.True(light.Length == 0 && dark.Length == 0, $"{page.Url}\nlight:\n{string.Join('\n', light)}\ndark:\n{string.Join('\n', dark)}");
    }

    private static async Task<string[]> SeriousViolationsAsync(IPage page)
    {
        var result = await page.RunAxe();
        return [.. result.Violations
            .Where(v => v.Impact is "critical" or "serious")
            .SelectMany(v => v.Nodes.Select(n => $"  {v.Id} ({v.Impact}): {n.Target} {Summary(n)}"))];
    }

    private static string Summary(AxeResultNode node) =>
        string.Join("; ", (node.Any ?? []).Concat(node.All ?? []).Concat(node.None ?? []).Select(c => c.Message)).ReplaceLineEndings(" ");
}
