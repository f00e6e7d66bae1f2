using Microsoft.Playwright;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// Headless Debian Chromium driven by Playwright. No browser download: Playwright is pointed at /usr/bin/chromium,
/// with the flags that keep Chromium from reaching for the network on a closed machine.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Expect() waits 5 s by default; on a loaded two-core machine (CI beside another job, two suites at once) a live
        // update, or a fresh app's first page, took over 30 s to arrive. The waits end as soon as the condition holds, so
        // the longer limit only matters when something is slow.
        Assertions.SetDefaultExpectTimeout(60_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Tools.Chromium,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    /// <summary>How the tests and the scale harness start headless Chromium: no sandbox (root), no GPU, nothing that calls out.</summary>
    public static IReadOnlyList<string> ChromiumArgs { get; } =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    /// <summary>A fresh page in its own context (no shared cookies or storage between tests).</summary>
    public async Task<IPage> NewPageAsync(Uri baseAddress)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            // The panel honours reduced motion (app.css): on a loaded machine a click otherwise lands where a button was
            // before the navigation drawer finished sliding the page to the right.
            ReducedMotion = ReducedMotion.Reduce,
        });
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(90_000);
        lock (_contexts)
        {
            _contexts.Add(context);
        }

        return await context.NewPageAsync();
    }

    /// <summary>
    /// Closes every context opened so far. The tests of a collection run one at a time, so at the end of a test these
    /// are its own; left open, each page's renderer (100–200 MiB) lived until the whole collection ended.
    /// </summary>
    public async Task CloseContextsAsync()
    {
        IBrowserContext[] open;
        lock (_contexts)
        {
            open = [.. _contexts];
            _contexts.Clear();
        }

        foreach (var context in open)
        {
            await context.CloseAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

[CollectionDefinition(Name)]
public sealed class SshdCollection : ICollectionFixture<SshdFixture>
{
    public const string Name = "sshd";
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerdFixture>, ICollectionFixture<SshdFixture>, ICollectionFixture<BrowserFixture>
{
    public const string Name = "docker";
}
