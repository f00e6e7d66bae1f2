using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Model;

namespace SparkControl.Tests.Web;

/// <summary>Registering a local model that spans both Sparks: the registrar the API and the form share, over two simulated Sparks.</summary>
public sealed class ClusterLocalModelRegistrationTests : IAsyncLifetime
{
    private const string Path = "/home/demo/models/ft-both";
    private readonly TempDirectory _data = new();
    private readonly SimulatedSparkHost _head = new(new SimSparkSettings { Name = "spark-1" }, TimeProvider.System);
    private readonly SimulatedSparkHost _worker = new(new SimSparkSettings { Name = "spark-2" }, TimeProvider.System);
    private readonly CatalogStore _store;
    private readonly ModelRegistrar _registrar;

    public ClusterLocalModelRegistrationTests()
    {
        var catalog = new ModelCatalog(TimeProvider.System);
        _store = new CatalogStore(new DataDirectory(_data.Path), catalog);
        var fleet = new SparkFleet(TimeProvider.System);
        SparkDefinition Definition(string name, string host) => new() { Name = name, Host = host, User = "demo", ModelRoots = ["/home/demo/models"] };
        var head = Definition("spark-1", "127.0.0.1") with
        {
            LaunchCluster = new LaunchClusterSettings { Script = "/opt/launch-cluster.sh", Nodes = ["10.0.0.1", "10.0.0.2"], ContainerName = "vllm_node" },
        };
        fleet.Publish(new FleetConfiguration([new SparkEntry(head, _head, true), new SparkEntry(Definition("spark-2", "127.0.0.2"), _worker, true)], [], false));
        _registrar = new ModelRegistrar(_store, fleet, new DiskSizeProbe(fleet, catalog, TimeProvider.System, NullLogger<DiskSizeProbe>.Instance));
    }

    private static void Put(SimulatedSparkHost host, long bytes) => host.Disk.AddDirectory(Path, bytes, "config.json", "model.safetensors", "tokenizer.json");

    private Task<(ModelDefinition Model, IReadOnlyList<ModelDiskUsage> Disk)> AddAsync() =>
        _registrar.AddAsync(new ModelInput.AddModelBody("local", null, null, "spark-1", Path, "ft-both", null, Placement: "cluster"), CancellationToken.None);

    [Fact]
    public async Task OnBothAtTheSamePathAndSize_IsAClusterModelThroughLaunchCluster()
    {
        Put(_head, 1L << 30);
        Put(_worker, 1L << 30);

        var (model, _) = await AddAsync();

        Assert.Equal((ModelPlacement.Cluster, ModelRuntime.LaunchCluster), (model.Placement, model.Runtime));
        Assert.Contains("placement: cluster", await File.ReadAllTextAsync(_data.File(CatalogStore.CustomFileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingOnTheOtherSpark_OrDifferentThere_IsRefusedOnThePath_AndNothingIsSaved()
    {
        Put(_head, 1L << 30);

        var missing = await Assert.ThrowsAsync<ValidationFailedException>(AddAsync);
        Put(_worker, 1L << 29);
        var different = await Assert.ThrowsAsync<ValidationFailedException>(AddAsync);

        Assert.Contains("does not exist on spark-2", Assert.Single(missing.Errors).Message, StringComparison.Ordinal);
        Assert.Contains("differs between the Sparks", Assert.Single(different.Errors).Message, StringComparison.Ordinal);
        Assert.Null(_store.Current.Find("ft-both"));
    }

    [Theory]
    [InlineData("both")]
    [InlineData("cluster\n")]
    [InlineData("Cluster")]
    public void APlacementThatIsNotOne_IsRefusedOnItsField(string placement)
    {
        var error = Assert.Throws<ValidationFailedException>(() =>
            ModelInput.ToDefinition(new ModelInput.AddModelBody("local", null, null, "spark-1", Path, null, null, Placement: placement), _store.Current));

        Assert.Equal("placement", Assert.Single(error.Errors).Field);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _head.DisposeAsync();
        await _worker.DisposeAsync();
        _data.Dispose();
    }
}
