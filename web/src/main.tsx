// The web app the node serves at `/`: hash routes (every page is a shareable link),
// one layout, the pages in ./pages. Chain calls go through the SDK (./api.ts).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Explorer, BlockPage, TxPage, AccountPage, AssetPage, VerifyPage, search } from './pages/explorer.tsx';
import { Wallet } from './pages/wallet.tsx';
import { Dashboard } from './pages/dashboard.tsx';
import { Network } from './pages/network.tsx';
import { startFrameStats } from './live.ts';

function currentRoute(): { path: string[]; query: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, '');
  const [p = '', q = ''] = hash.split('?');
  return { path: p.split('/').filter((s) => s !== '').map(decodeURIComponent), query: new URLSearchParams(q) };
}

function Page({ path, query }: { path: string[]; query: URLSearchParams }) {
  const [first, second] = path;
  switch (first) {
    case undefined:
    case 'explorer':
      return <Explorer />;
    case 'block':
      return <BlockPage height={second ?? ''} />;
    case 'tx':
      return <TxPage hash={second ?? ''} />;
    case 'account':
      return <AccountPage address={second ?? ''} before={query.get('before')} />;
    case 'asset':
      return <AssetPage id={second ?? ''} />;
    case 'verify':
      return <VerifyPage />;
    case 'wallet':
      return <Wallet tab={second ?? 'home'} query={query} />;
    case 'dashboard':
      return <Dashboard address={second ?? ''} query={query} />;
    case 'network':
      return <Network />;
    default:
      return <p class="error">No page "{path.join('/')}". <a href="#/">To the explorer</a></p>;
  }
}

function SearchBox() {
  const [text, setText] = useState('');
  const [err, setErr] = useState('');
  const go = async (e: Event) => {
    e.preventDefault();
    setErr('');
    const target = await search(text.trim());
    if (target.startsWith('#')) location.hash = target;
    else setErr(target);
  };
  return (
    <form class="search" onSubmit={go}>
      <input aria-label="Search" placeholder="hash, address, height or symbol" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
      <button type="submit">Search</button>
      {err && <span class="error" role="alert">{err}</span>}
    </form>
  );
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const section = route.path[0] ?? 'explorer';
  const nav = (href: string, label: string, names: string[]) => (
    <a href={href} class={names.includes(section) ? 'active' : ''}>{label}</a>
  );
  return (
    <>
      <header>
        <a class="brand" href="#/">Jeon</a>
        <nav>
          {nav('#/', 'Explorer', ['explorer', 'block', 'tx', 'account', 'asset', 'verify'])}
          {nav('#/wallet', 'Wallet', ['wallet'])}
          {nav('#/dashboard', 'Partners', ['dashboard'])}
          {nav('#/network', 'Network', ['network'])}
        </nav>
        <SearchBox />
      </header>
      <main key={location.hash}>
        <Page path={route.path} query={route.query} />
      </main>
    </>
  );
}

startFrameStats();
render(<App />, document.getElementById('app')!);
