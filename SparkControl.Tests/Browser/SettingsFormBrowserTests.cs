using Microsoft.Playwright;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class SettingsFormBrowserTests(BrowserFixture browser) : BrowserTest(browser)
{
    [Fact]
    public async Task SshKeys_UploadAKeyFile_IsListedByItsFingerprintAndKept0600()
    {
        using var made = new TempDirectory("sc-keygen");
        var file = made.File("id_ed25519");
        (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", file])).EnsureSuccess("ssh-keygen");
        var fingerprint = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", file + ".pub"])).Stdout.Split(' ')[1];
        await using var app = await SparkControlApp.StartAsync();
        var page = await NewPageAsync(app.BaseAddress);
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
        var page = await NewPageAsync(app.BaseAddress);
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

    [Fact]
    public async Task EditSpark_ChangedByHandMeanwhile_OrBusy_SaysSoAndKeepsTheFile()
    {
        await using var app = await SparkControlApp.StartAsync();
        var key = Path.Combine(app.DataDirectory, "ssh-keys", "id_ed25519");
        var settings = app.Get<SparkSettingsStore>();
        await settings.AddAsync(new SparkDefinition { Name = "spark-1", Host = "192.168.1.50", User = "nvidia", KeyPath = key }, CancellationToken.None);
        var file = Path.Combine(app.DataDirectory, SparksYaml.FileName);
        var page = await NewPageAsync(app.BaseAddress);
        await page.GotoAsync("/settings");

        // Opened, then the same Spark is edited by hand before Save: the hand edit is not overwritten.
        await page.GetByTestId("edit-spark-1").ClickAsync();
        var dialog = page.Locator(".mud-dialog");
        await dialog.GetByTestId("spark-host-input").FillAsync("192.168.1.51");
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("192.168.1.50", "192.168.1.60", StringComparison.Ordinal));
        await dialog.GetByTestId("spark-save").ClickAsync();

        await Expect(dialog.GetByTestId("spark-dialog-error")).ToContainTextAsync("was changed by someone else since you read it");
        Assert.Equal("192.168.1.60", SparksYaml.Read(await File.ReadAllTextAsync(file), file).Sparks.Single().Host);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();

        // Opened again (the hand edit is what it shows), while an upgrade runs on the Spark.
        await page.GetByTestId("edit-spark-1").ClickAsync();
        await Expect(dialog.GetByTestId("spark-host-input")).ToHaveValueAsync("192.168.1.60");
        using (app.Get<SparkWork>().Begin(["spark-1"], "apt-get upgrade"))
        {
            await dialog.GetByTestId("spark-host-input").FillAsync("192.168.1.52");
            await dialog.GetByTestId("spark-save").ClickAsync();
            await Expect(dialog.GetByTestId("spark-dialog-error")).ToContainTextAsync("spark-1 cannot be changed or removed while apt-get upgrade runs on it");
        }

        await dialog.GetByTestId("spark-save").ClickAsync();
        await Expect(page.GetByTestId("sparks-table")).ToContainTextAsync("nvidia@192.168.1.52:22");
        Assert.Equal("192.168.1.52", SparksYaml.Read(await File.ReadAllTextAsync(file), file).Sparks.Single().Host);
    }
}
