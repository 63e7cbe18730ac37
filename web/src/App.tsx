import { lazy, Suspense, useSyncExternalStore } from 'react'
import { ErrorBoundary } from './boundary'
import { DirectoriesPage } from './pages/Directories'
import { FieldsPage } from './pages/Fields'
import { GroupPage, GroupsPage } from './pages/Groups'
import { ImportPage } from './pages/Import'
import { KeysPage } from './pages/Keys'
import { ImportsPage } from './pages/Imports'
import { SignInPage } from './pages/SignIn'
import { UserPage } from './pages/User'
import { UsersPage } from './pages/Users'
import { WebhooksPage } from './pages/Webhooks'
import { match, useLocation } from './router'
import { getKey, signOut, subscribe } from './session'
import { Link } from './ui'

// The wizard (and papaparse with it) loads when it is opened, not with the first screen.
const NewImportPage = lazy(() => import('./pages/NewImport').then((m) => ({ default: m.NewImportPage })))

export function App() {
  const key = useSyncExternalStore(subscribe, getKey)
  const { path } = useLocation()
  if (!key) return <SignInPage />
  const route = match(path)
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">
          Rollcall
        </Link>
        <nav aria-label="Main">
          <Link to="/">Directories</Link>
          <Link to="/keys">API keys</Link>
        </nav>
        <button type="button" className="quiet" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        <ErrorBoundary key={path}>
          {route.name === 'directories' && <DirectoriesPage />}
          {route.name === 'users' && <UsersPage key={route.dir} dir={route.dir} />}
          {route.name === 'user' && <UserPage key={`${route.dir}/${route.id}`} dir={route.dir} id={route.id} />}
          {route.name === 'import' && <ImportPage key={route.id} id={route.id} />}
          {route.name === 'keys' && <KeysPage />}
          {route.name === 'webhooks' && <WebhooksPage key={route.dir} dir={route.dir} />}
          {route.name === 'fields' && <FieldsPage key={route.dir} dir={route.dir} />}
          {route.name === 'groups' && <GroupsPage key={route.dir} dir={route.dir} />}
          {route.name === 'group' && <GroupPage key={`${route.dir}/${route.id}`} dir={route.dir} id={route.id} />}
          {route.name === 'imports' && <ImportsPage key={route.dir} dir={route.dir} />}
          {route.name === 'new-import' && (
            <Suspense fallback={<p className="muted">Loading the import wizard…</p>}>
              <NewImportPage key={route.dir} dir={route.dir} />
            </Suspense>
          )}
          {route.name === 'not-found' && (
            <section>
              <h1>Not found</h1>
              <p>
                The console has no page at <code>{path}</code>. <Link to="/">Go to the directories</Link>.
              </p>
            </section>
          )}
        </ErrorBoundary>
      </main>
    </>
  )
}
