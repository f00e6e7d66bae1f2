using Microsoft.Playwright;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class SettingsFormBrowserTests(BrowserFixture browser)
{
    [Fact]
    public async Task SshKeys_UploadAKeyFile_IsListedByItsFingerprintAndKept0600()
    {
        using var made = new TempDirectory("sc-keygen");
        var file = made.File("id_ed25519");
        (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", file])).EnsureSuccess("ssh-keygen");
        var fingerprint = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", file + ".pub"])).Stdout.Split(' ')[1];
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/settings");

        await page.GetByTestId("ssh-key-name").FillAsync("spark-1");
        await page.GetByTestId("ssh-key-file").Locator("input[type=file]").SetBlazorInputFilesAsync(file);

        await Expect(page.GetByTestId("ssh-key-spark-1").GetByTestId("ssh-key-fingerprint")).ToContainTextAsync(fingerprint);
        var stored = Path.Combine(app.DataDirectory, "ssh-keys", "spark-1");
        Assert.Equal(await File.ReadAllTextAsync(file), await File.ReadAllTextAsync(stored));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stored));
        await Expect(page.GetByTestId("ssh-keys")).Not.ToContainTextAsync("PRIVATE KEY");
        await page.GetByTestId("ssh-keys").ScreenshotAsync(new() { Path = Path.Combine(Tools.ArtifactsDirectory, "settings-ssh-keys.png") });
    }

    [Fact]
    public async Task AddSpark_ValidatesAsYouTypeThenSavesToSparksYaml()
    {
        await using var app = await SparkControlApp.StartAsync();
        var page = await browser.NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/settings");

        await page.GetByTestId("add-spark").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await dialog.GetByTestId("spark-name-input").FillAsync("spark-1");
        await dialog.GetByTestId("spark-host-input").FillAsync("spark 1; rm -rf /");
        await dialog.GetByTestId("spark-user-input").FillAsync("nvidia");
        var key = Path.Combine(app.DataDirectory, "ssh-keys", "id_ed25519");
        await dialog.GetByTestId("spark-key-input").FillAsync("/root/.ssh/id_ed25519");
        await Expect(dialog).ToContainTextAsync("is not in a key directory");
        await dialog.GetByTestId("spark-key-input").FillAsync(key);
        await Expect(dialog).ToContainTextAsync("is not a host name or IP address");
        await Expect(dialog.GetByTestId("spark-save")).ToBeDisabledAsync();

        await dialog.GetByTestId("spark-host-input").FillAsync("192.168.1.50");
        await Expect(dialog.GetByTestId("spark-save")).ToBeEnabledAsync();
        await page.SaveScreenshotAsync("settings-add-spark.png", fullPage: false);
        await dialog.GetByTestId("spark-save").ClickAsync();

        await Expect(page.GetByTestId("sparks-table")).ToContainTextAsync("nvidia@192.168.1.50:22");
        // The first real Spark ends demo mode, and every page says so at once.
        await Expect(page.GetByTestId("demo-badge")).ToHaveCountAsync(0);
        var file = Path.Combine(app.DataDirectory, SparksYaml.FileName);
        await Wait.UntilAsync(() => File.Exists(file), "sparks.yaml is written");
        var spark = Assert.Single(SparksYaml.Read(await File.ReadAllTextAsync(file), file).Sparks);
        Assert.Equal("192.168.1.50", spark.Host);
        Assert.Equal(key, spark.KeyPath);
        await page.SaveScreenshotAsync("settings.png");
    }
}
