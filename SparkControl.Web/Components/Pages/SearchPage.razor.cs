using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.Options;
using SparkControl.Core.Access;
using SparkControl.Core.Validation;
using SparkControl.Core.Vectors;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Pages;

/// <summary>Search over Qdrant and adding documents, end to end, through the same checks as the API.</summary>
public partial class SearchPage
{
    [Inject]
    public required VectorSearch Search { get; init; }

    [Inject]
    public required QdrantConnections Connections { get; init; }

    [Inject]
    public required IOptionsMonitor<QdrantOptions> Options { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    private IReadOnlyList<string> _services = [];
    private string? _service;
    private string? _collection = "notes";
    private string? _query;
    private string? _limit = "5";
    private string? _text;
    private string? _source;
    private bool _busy;
    private string? _error;
    private string? _added;
    private SearchResult? _result;

    private string? CollectionError => Validators.Name(_collection, "collection");

    private IReadOnlyList<FieldError> SearchErrors => ReadSearch(out _);

    protected override void OnInitialized()
    {
        _services = [.. Connections.Services().Select(s => s.Key)];
        _service = _services.FirstOrDefault();
    }

    private List<FieldError> ReadSearch(out SearchRequest request)
    {
        var errors = new List<FieldError>();
        errors.AddIf("limit", Validators.WholeNumber(_limit, out var limit, "limit"));
        request = new SearchRequest(_collection, _query, limit, null, _service);
        errors.AddRange(VectorSearch.Check(request).Where(e => errors.All(known => known.Field != e.Field) && (e.Field != "query" || _query is not null)));
        return errors;
    }

    private async Task OnQueryKeyAsync(KeyboardEventArgs key)
    {
        if (key.Key == "Enter")
        {
            await SearchAsync();
        }
    }

    private async Task SearchAsync()
    {
        if (ReadSearch(out var request).Count > 0 || string.IsNullOrWhiteSpace(_query))
        {
            return;
        }

        await RunAsync(async () => _result = await Search.SearchAsync(request, CancellationToken.None));
    }

    private async Task AddAsync()
    {
        _added = null;
        await RunAsync(async () =>
        {
            Caller.Demand(AccessRole.Operator);
            var added = await Search.AddDocumentsAsync(_collection!, new DocumentsRequest([new DocumentInput(_text, string.IsNullOrWhiteSpace(_source) ? null : _source.Trim())], _service), CancellationToken.None);
            Caller.Audit("search.documents", $"{added.Service}/{added.Collection}", $"{added.Documents} document(s), {added.Chunks} chunk(s)");
            _added = $"Added {added.Chunks} chunk{(added.Chunks == 1 ? string.Empty : "s")} to {added.Collection} on {added.Service}.";
            _text = null;
        });
    }

    private async Task RunAsync(Func<Task> work)
    {
        _busy = true;
        _error = null;
        try
        {
            await work();
        }
        catch (ValidationFailedException ex)
        {
            _error = string.Join("; ", ex.Errors.Select(e => e.Message));
        }
        catch (Exception ex) when (ex is AccessRefusedException or QdrantCallException or EmbeddingUnavailableException or KeyNotFoundException)
        {
            _error = ex.Message;
        }
        finally
        {
            _busy = false;
        }
    }
}
