using SparkControl.Core.Hosts;
using SparkControl.Core.Nim;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Core;

/// <summary>Reading <c>docker pull</c> and <c>docker manifest inspect -v</c> as the CLI prints them without a terminal (captured output).</summary>
public sealed class ImagePullTests
{
    private static string Data(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "docker", file));

    private static List<PullProgress> Read(string file)
    {
        var reader = new PullLineReader();
        return [.. Data(file).Split('\n').Select(reader.Read).OfType<PullProgress>()];
    }

    [Fact]
    public void APull_CountsLayersAsTheyAreAnnounced_AndDoneOnlyWhenPulled()
    {
        var progress = Read("pull-3-layers.txt");

        Assert.Equal((0, 1), (progress[0].LayersDone, progress[0].LayersTotal));
        Assert.Equal((0, 3), (progress[2].LayersDone, progress[2].LayersTotal));
        // "Download complete" is not done: the layer still has to be unpacked.
        Assert.All(progress.Where(p => p.Line.EndsWith("Download complete", StringComparison.Ordinal)), p => Assert.Equal(0, p.LayersDone));
        Assert.Equal([1, 2, 3], progress.Where(p => p.Line.EndsWith("Pull complete", StringComparison.Ordinal)).Select(p => p.LayersDone));
        Assert.True(progress[^1].Completed);
        Assert.Equal((3, 3), (progress[^1].LayersDone, progress[^1].LayersTotal));
        Assert.Single(progress, p => p.Completed);
    }

    [Fact]
    public void ALayerThatIsAlreadyThere_CountsAsDoneAtOnce()
    {
        var progress = Read("pull-1-of-3-present.txt");

        Assert.Equal((1, 1), (progress[0].LayersDone, progress[0].LayersTotal));
        Assert.Equal((3, 3, true), (progress[^1].LayersDone, progress[^1].LayersTotal, progress[^1].Completed));
    }

    [Fact]
    public void AnImageUpToDate_EndsWithNoLayers()
    {
        var progress = Assert.Single(Read("pull-up-to-date.txt"));

        Assert.True(progress.Completed);
        Assert.Equal(0, progress.LayersTotal);
    }

    [Theory]
    [InlineData("Digest: sha256:e87b1442aa5444265c536ec8cadfeea890a27c3c784529583b2c46bc662197fd")]
    [InlineData("127.0.0.1:5999/nim/meta/test:2.0")]
    [InlineData("2.0: Pulling from nim/meta/test")]
    [InlineData("ABCDEF012345: Pull complete")]
    [InlineData("abcdef01234: Pull complete")]
    [InlineData("")]
    public void LinesThatAreNotAboutALayerOrTheEnd_AreNotProgress(string line) => Assert.Null(new PullLineReader().Read(line));

    [Fact]
    public void ASinglePlatformManifest_GivesItsLayersAndCompressedSize()
    {
        var (platform, layers, bytes) = ImageManifests.ForArchitecture(Data("manifest-inspect-v-single.json"), "amd64");

        Assert.Equal(("linux/amd64", 3, 3001189L + 2000846L + 1500676L), (platform, layers, bytes));
    }

    [Fact]
    public void AMultiPlatformImage_GivesTheSparksVariant_AndRefusesWhenItHasNone()
    {
        var json = Data("manifest-inspect-v-list.json");

        Assert.Equal(("linux/arm64", 4, 29000000L + 410000000 + 2300000000 + 3800000000), ImageManifests.ForArchitecture(json, ImageManifests.DockerArchitecture("aarch64")));
        Assert.Equal(3, ImageManifests.ForArchitecture(json, ImageManifests.DockerArchitecture("x86_64")).Layers);
        var none = Assert.Throws<FormatException>(() => ImageManifests.ForArchitecture(json, "riscv64"));
        Assert.Equal("the image has no linux/riscv64 variant (it has linux/amd64, linux/arm64)", none.Message);
        // The single-platform image is amd64 only: a Spark cannot run it.
        Assert.Contains("no linux/arm64 variant", Assert.Throws<FormatException>(() => ImageManifests.ForArchitecture(Data("manifest-inspect-v-single.json"), "arm64")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"SchemaV2Manifest\":{\"config\":{}}}")]
    [InlineData("[]")]
    public void OutputThatIsNotAManifest_IsAFormatError(string output) =>
        Assert.Throws<FormatException>(() => ImageManifests.ForArchitecture(output, "arm64"));

    [Fact]
    public void APullNeedsTheDownloadAndTheUnpackedImage()
    {
        var image = new RemoteImage("x", "linux/arm64", 2, 10L << 30, new DiskSpace(100L << 30, 25L << 30, "/"));

        Assert.Equal(30L << 30, image.NeededBytes);
    }

    [Theory]
    [InlineData("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4", "meta/llama-3.1-8b-instruct")]
    [InlineData("nvcr.io/nim/meta/llama-3.1-8b-instruct@sha256:0123", "meta/llama-3.1-8b-instruct")]
    [InlineData("127.0.0.1:5000/nim/meta/test:2.0", "meta/test")]
    [InlineData("127.0.0.1:5000/test", "nim/test")]
    [InlineData("localhost:5000/nim/a/b", "a/b")]
    public void TheCatalogSourceIsTheModelsNameInNgc(string image, string repo) => Assert.Equal(repo, NimInstallRequest.RepoOf(image));

    [Fact]
    public void ARequestsIdIsItsServedName_MadeAnId()
    {
        var request = new NimInstallRequest { Spark = "s", Image = "nvcr.io/nim/a/b:1", ServedName = "Meta/Llama-8B" };

        Assert.Equal("llama-8b", request.ModelId);
        Assert.Equal("nim-llama-8b", request.ServiceContainer);
        Assert.Equal("llama-3.1-8b", (request with { ServedName = "llama-3.1-8b" }).ModelId);
    }

    [Fact]
    public void ImagesFromLoopbackAlone_ReadTheirManifestOverPlainHttp()
    {
        Assert.Equal(["docker", "manifest", "inspect", "-v", "--insecure", "--", "127.0.0.1:5000/a/b:1"], DockerCommands.ManifestInspect("127.0.0.1:5000/a/b:1", insecure: true));
        Assert.Equal(["docker", "manifest", "inspect", "-v", "--", "nvcr.io/nim/a/b:1"], DockerCommands.ManifestInspect("nvcr.io/nim/a/b:1", insecure: false));
        Assert.Equal(["docker", "pull", "--", "nvcr.io/nim/a/b:1"], DockerCommands.Pull("nvcr.io/nim/a/b:1"));
    }

    [Theory]
    [InlineData("127.0.0.1:5000/a/b:1", true)]
    [InlineData("127.9.9.9:5000/a/b:1", true)]
    [InlineData("localhost:5000/a/b", true)]
    [InlineData("[::1]:5000/a/b", false)]
    [InlineData("nvcr.io/nim/a/b:1", false)]
    [InlineData("10.0.0.5:5000/a/b", false)]
    [InlineData("127.0.0.1.nip.io/a/b", false)]
    public void TheLoopbackRule(string image, bool loopback) => Assert.Equal(loopback, ImageRegistry.IsLoopback(image));
}
